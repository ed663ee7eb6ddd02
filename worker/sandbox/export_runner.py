"""Stage 1, untrusted: import the team's model.py, build it, load its weights, export it as data.

Runs as the sandbox user with no network, no HR images and rlimits (see nsinit.py), so what the
team's Python does here can hurt only this process. The weights file is read *before* model.py
is imported, so the ``weights_only`` check cannot be patched away by the team's code. Nothing
this stage writes is trusted: stage 2 re-checks the program and counts and times it itself.

Inputs: /sandbox/in/job.json, /sandbox/in/submission/. Outputs in /sandbox/out: result.json
(``{"error": reason}`` or the list of programs), program-*.json and weights.safetensors.
"""

import errno
import importlib.util
import json
import sys
import traceback
from pathlib import Path

import torch
from program import ProgramError, to_program
from safetensors.torch import load_file, save_file
from torch.fx.experimental.symbolic_shapes import is_concrete_int

SUBMISSION = Path("/sandbox/in/submission")
OUT = Path("/sandbox/out")
TRACEBACK_CHARS = 8000
RESULT_RESERVE = 64 << 10


class TeamError(Exception):
    """A reason for the team."""


def describe(exc: BaseException, doing: str, job: dict) -> str:
    """Team-facing text: limits by name, otherwise the traceback limited to the team's own frames."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MemoryError) or "can't allocate memory" in text or "Cannot allocate memory" in text:
        return f"ran out of memory while {doing} (the limit is {job['memory_gib']:g} GiB of address space)"
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return f"wrote a file larger than the limit of {job['file_mib']} MiB while {doing}"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"ran out of disk space while {doing} (the limit is {job['disk_mib']} MiB)"
    tb = traceback.TracebackException.from_exception(exc)
    own = [frame for frame in tb.stack if frame.filename.startswith(str(SUBMISSION))]
    if own:
        tb.stack = traceback.StackSummary.from_list(own)
    formatted = "".join(tb.format())
    return f"error while {doing}:\n{formatted[-TRACEBACK_CHARS:]}"


def read_state_dict() -> dict[str, torch.Tensor] | None:
    files = [name for name in ("model.safetensors", "model.pth") if (SUBMISSION / name).is_file()]
    if len(files) > 1:
        raise TeamError("submit either model.safetensors or model.pth, not both")
    if not files:
        return None
    path = SUBMISSION / files[0]
    try:
        state = load_file(path) if path.suffix == ".safetensors" else torch.load(path, map_location="cpu",
                                                                                  weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to parse is the file's fault
        raise TeamError(f"{path.name} could not be loaded as plain tensors (weights_only=True refuses "
                        f"pickled Python objects and code): {str(exc).splitlines()[0][:500]}") from None
    if isinstance(state, dict) and len(state) == 1 and isinstance(next(iter(state.values())), dict):
        state = next(iter(state.values()))
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TeamError(f"{path.name} must hold a state dict: a mapping from names to tensors")
    return state


def build(state: dict | None) -> torch.nn.Module:
    if not (SUBMISSION / "model.py").is_file():
        raise TeamError("the submission has no model.py at its top level")
    sys.path.insert(0, str(SUBMISSION))
    spec = importlib.util.spec_from_file_location("model", SUBMISSION / "model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["model"] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "build_model", None)):
        raise TeamError("model.py does not define build_model()")
    model = module.build_model()
    if not isinstance(model, torch.nn.Module):
        raise TeamError(f"build_model() returned {type(model).__name__}, expected a torch.nn.Module")
    if state is not None:
        expected = model.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            raise TeamError("the weights do not fit the model: "
                            f"missing keys {missing[:20]}{' ...' if len(missing) > 20 else ''}, "
                            f"unexpected keys {unexpected[:20]}{' ...' if len(unexpected) > 20 else ''}")
        wrong = [f"{k}: {tuple(state[k].shape)} in the file, {tuple(v.shape)} in the model"
                 for k, v in expected.items() if tuple(state[k].shape) != tuple(v.shape)]
        if wrong:
            raise TeamError("the weights do not fit the model: " + "; ".join(wrong[:10]))
        model.load_state_dict(state, strict=True)
    return model.eval()


def export(model: torch.nn.Module, job: dict) -> dict[str, "torch.export.ExportedProgram"]:
    """One program for every input size if height and width stay symbolic, else one per size."""
    h, w = job["shapes"][0]
    example = torch.rand(1, 3, h, w) * job["data_range"]
    auto = torch.export.Dim.AUTO
    try:
        ep = torch.export.export(model, (example,), dynamic_shapes=({2: auto, 3: auto},), strict=False)
        user_input = next(n for n in ep.graph.nodes if n.op == "placeholder"
                          and n.name == ep.graph_signature.user_inputs[0])
        if not any(is_concrete_int(d) for d in user_input.meta["val"].shape[2:]):  # none specialized
            return {"any": ep}
    except Exception as exc:  # noqa: BLE001 - retried below with static shapes, whose error is the one reported
        print(f"export with dynamic height/width failed, exporting each input size: {exc}", flush=True)
    programs = {}
    for h, w in job["shapes"]:
        example = torch.rand(1, 3, h, w) * job["data_range"]
        try:
            programs[f"{h}x{w}"] = torch.export.export(model, (example,), strict=False)
        except Exception as exc:  # noqa: BLE001 - whatever export raises, the model is the cause
            raise TeamError(
                f"torch.export.export could not trace the model on a 1×3×{h}×{w} input:\n"
                f"{str(exc)[:TRACEBACK_CHARS]}\nforward() must be traceable: no Python branches on "
                "tensor values, no .item()/.numpy()/.tolist(), no custom C++/CUDA extensions, "
                "and exactly one tensor in and one tensor out") from None
    return programs


def main() -> None:
    job = json.loads((Path("/sandbox/in/job.json")).read_text())
    result_path = OUT / "result.json"
    result_path.write_bytes(b" " * RESULT_RESERVE)  # so a team that fills the disk still gets its reason
    doing = "loading the weights"
    try:
        state = read_state_dict()
        doing = "importing model.py and building the model"
        model = build(state)
        doing = "exporting the model"
        with torch.no_grad():
            exported = export(model, job)
        names_by_key, tensors, programs = {}, {}, {}
        for tag, ep in exported.items():
            graph, used = to_program(ep, names_by_key)
            tensors.update(used)
            programs[tag] = f"program-{tag}.json"
            (OUT / programs[tag]).write_text(json.dumps(graph))
        doing = "saving the exported weights"
        save_file({name: t.detach().contiguous().clone() for name, t in tensors.items()},
                  OUT / "weights.safetensors")
        result = {"programs": programs}
    except (TeamError, ProgramError) as exc:
        result = {"error": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - the team's code may raise anything, SystemExit included
        result = {"error": describe(exc, doing, job)}
    with result_path.open("r+b") as f:
        f.write(json.dumps(result).encode())
        f.truncate()


if __name__ == "__main__":
    main()
