"""A model as data: an exported ATen graph in plain JSON plus its tensors, and the checked interpreter that runs it.

Why not ``torch.export.save``/``load``: ``load`` unpickles with ``weights_only=False`` and
``pickle.loads``, turns the file's ``guards_code`` into Python that is ``exec``-ed, and fx
code generation pastes names and placeholder targets from the file into Python source. A file
written by a team's process would run the team's Python inside the measurement. So the format
here holds only op names, literals and references (``to_program``), tensors travel as
safetensors, and ``Program`` runs the graph node by node, calling only the pure tensor operators
of ``allowed_ops.py``, without generating or executing any source. ``peak_bytes`` runs it on the
meta device first, so sizes are checked before anything is allocated.

Purity, so that nothing can be cached across images or trials: the only values that outlive a
call are the weights, so (1) ``Program`` refuses a graph in which an op writes in place to a
weight, to the input, or to anything aliasing them (from the ops' schemas), and (2)
``weights_unchanged`` compares the weights with pristine copies, a check the measurement
repeats after every pass in case an op aliases without saying so.
Shared by stage 1 (writes) and stage 2 (checks and runs); both copies are made by the worker.
"""

import math
import operator
import re
from collections import Counter

import torch

try:  # the sandbox runs these files side by side; the worker and the tests import them as a package
    from allowed_ops import ALLOWED_OPS, ALLOWED_OVERLOAD
except ModuleNotFoundError:
    from worker.sandbox.allowed_ops import ALLOWED_OPS, ALLOWED_OVERLOAD

_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*$")  # identifiers, never dunders
_PYTHON_OPS = {
    "operator." + name: getattr(operator, name)
    for name in ("getitem", "add", "sub", "mul", "floordiv", "truediv", "mod", "neg",
                 "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "not_")
}
_PYTHON_OPS.update({"math.ceil": math.ceil, "math.floor": math.floor, "math.trunc": math.trunc,
                    "math.sqrt": math.sqrt, "sym_max": max, "sym_min": min, "sym_float": float,
                    "sym_int": int, "sym_not": operator.not_})
_SYM_FUNCTIONS = {torch.sym_max: "sym_max", torch.sym_min: "sym_min", torch.sym_float: "sym_float",
                  torch.sym_int: "sym_int", torch.sym_not: "sym_not"}
_UNANNOTATED_ALIASES = {"aten::_unsafe_view"}  # returns a view although its schema does not say so
_ENUMS = {"dtype": torch.dtype, "layout": torch.layout, "memory_format": torch.memory_format}
_ALLOWED_ENUMS = {  # dense tensors only: no sparse layouts, quantized or complex types
    "dtype": {"float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"},
    "layout": {"strided"},
    "memory_format": {"contiguous_format", "channels_last", "preserve_format"},
}


class ProgramError(Exception):
    """The program cannot be accepted or run; the message is written for the team."""


def _encode(value, index: dict) -> object:
    if isinstance(value, torch.fx.Node):
        return {"ref": index[value]}
    if isinstance(value, (list, tuple)):
        return {"list": [_encode(v, index) for v in value]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.device):
        return {"device": value.type}
    for kind, cls in _ENUMS.items():
        if isinstance(value, cls):
            return {kind: str(value).removeprefix("torch.")}
    raise ProgramError(f"the exported graph has an argument of type {type(value).__name__}, which cannot be run")


def _op_name(target) -> str:
    if isinstance(target, torch._ops.OpOverload):
        return f"{target._schema.name}.{target._overloadname}"
    if target in _SYM_FUNCTIONS:
        return _SYM_FUNCTIONS[target]
    name = f"{getattr(target, '__module__', '').lstrip('_')}.{getattr(target, '__name__', '')}"
    if name in _PYTHON_OPS:
        return name
    raise ProgramError(f"the exported graph calls {target!r}; only ATen operators can be run "
                       "(custom operators and Python callbacks are not supported)")


def to_program(ep: "torch.export.ExportedProgram", names_by_key: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    """(graph as JSON-able dict, tensors by name) from an exported program, checked by ``Program``.

    ``names_by_key`` maps a tensor's memory (pointer, dtype, shape, strides) to its name and is
    shared between programs exported from one model, so tied weights, and weights common to
    several per-shape programs, are stored and counted once. Graphs with submodules (``no_grad``
    or autocast regions) are inlined first by functionalizing them.
    """
    if any(node.op == "get_attr" for node in ep.graph.nodes):
        ep = ep.run_decompositions({})
    sig = ep.graph_signature
    if any(spec.kind.name != "USER_OUTPUT" for spec in sig.output_specs):
        raise ProgramError("the model writes to its own buffers or input during forward(); "
                           "a scored model must be a pure function of its input")
    kinds = {spec.arg.name: spec for spec in sig.input_specs}
    index, nodes, inputs, tensors = {}, [], [], {}
    for node in ep.graph.nodes:
        if node.op == "placeholder":
            spec = kinds[node.name]
            if spec.kind.name == "USER_INPUT":
                inputs.append({"kind": "input"})
            else:
                value = ep.state_dict.get(spec.target, ep.constants.get(spec.target))
                if not isinstance(value, torch.Tensor):
                    raise ProgramError(f"{spec.target} is not a tensor; custom objects are not supported")
                key = (value.data_ptr(), value.dtype, tuple(value.shape), tuple(value.stride()))
                name = names_by_key.setdefault(key, f"t{len(names_by_key)}")
                tensors[name] = value
                inputs.append({"kind": spec.kind.name.lower(), "tensor": name})
            index[node] = len(index)
        elif node.op == "call_function":
            nodes.append({"op": _op_name(node.target),
                          "args": _encode(list(node.args), index),
                          "kwargs": {k: _encode(v, index) for k, v in node.kwargs.items()}})
            index[node] = len(index)
        elif node.op == "output":
            outputs = node.args[0]
            if len(outputs) != 1:
                raise ProgramError(f"forward() returns {len(outputs)} values; it must return one tensor")
            output = index[outputs[0]]
        else:
            raise ProgramError(f"the exported graph has a {node.op} node, which cannot be run")
    graph = {"inputs": inputs, "nodes": nodes, "output": output}
    Program(graph, {name: t.to("meta") for name, t in tensors.items()}, torch.device("meta"))
    return graph, tensors


def _resolve(name: str):
    if not isinstance(name, str):
        raise ProgramError("the program names an operator with something other than a string")
    if name in _PYTHON_OPS:
        return _PYTHON_OPS[name]
    qualified, _, overload = name.rpartition(".")
    namespace, _, op = qualified.partition("::")
    if (namespace != "aten" or not _NAME.match(op) or qualified not in ALLOWED_OPS
            or not ALLOWED_OVERLOAD.match(overload)):
        raise ProgramError(f"the program calls {str(name)[:200]!r}, which is not an allowed operator: a scored "
                           "model may use only pure tensor computations (see the list of allowed operators)")
    target = getattr(getattr(torch.ops.aten, op, None), overload, None)
    if not isinstance(target, torch._ops.OpOverload):
        raise ProgramError(f"operator {name!r} does not exist in this PyTorch")
    return target


def _refs(template) -> set[int]:
    if isinstance(template, _Ref):
        return {int(template)}
    if isinstance(template, list):
        return set().union(*map(_refs, template)) if template else set()
    return set()


def _check_writes(fn, args: list, kwargs: dict, protected: set[int], index: int) -> bool:
    """Refuse in-place writes to protected values; True if the result aliases a protected value."""
    if not isinstance(fn, torch._ops.OpOverload):
        return fn is operator.getitem and bool(_refs(args) & protected)
    schema = fn._schema
    bound = {**dict(zip((a.name for a in schema.arguments), args)), **kwargs}
    for arg in schema.arguments:
        if arg.alias_info is not None and arg.alias_info.is_write and _refs(bound.get(arg.name)) & protected:
            raise ProgramError(f"operator {schema.name} (step {index}) writes in place to the model's weights or "
                               "input; a scored model must be a pure function of its input")
    aliases = schema.name in _UNANNOTATED_ALIASES or any(r.alias_info is not None for r in schema.returns)
    return aliases and bool(_refs(list(bound.values())) & protected)


class Program:
    """A checked, runnable graph on ``device`` (devices named in the graph are replaced by it)."""

    def __init__(self, graph: dict, tensors: dict[str, torch.Tensor], device: torch.device) -> None:
        self.device = device
        self.param_names = sorted({i["tensor"] for i in graph["inputs"] if i["kind"] == "parameter"})
        self.buffer_names = sorted({i["tensor"] for i in graph["inputs"] if i["kind"] != "input"}
                                   - set(self.param_names))
        if missing := set(self.param_names + self.buffer_names) - set(tensors):
            raise ProgramError(f"the program refers to tensors that are not in its weights: {sorted(missing)[:5]}")
        self.pristine = {name: tensors[name] for name in self.param_names + self.buffer_names}
        self.tensors = {name: t.detach().to(device, copy=True).contiguous() for name, t in self.pristine.items()}
        self.inputs = [None if i["kind"] == "input" else self.tensors[i["tensor"]] for i in graph["inputs"]]
        if self.inputs.count(None) != 1:
            raise ProgramError("forward() must take exactly one tensor argument")
        protected = set(range(len(self.inputs)))
        self.steps = []
        for node in graph["nodes"]:
            index = len(self.inputs) + len(self.steps)
            fn = _resolve(node["op"])
            args = self._decode(node["args"], index)
            kwargs = {k: self._decode(v, index) for k, v in node["kwargs"].items()}
            if not isinstance(args, list):
                raise ProgramError("the program's arguments must be lists")
            _check_arguments(fn, node["op"], args, kwargs)
            if _makes_tensors_without_device(fn, args, kwargs):
                kwargs["device"] = device  # else a new tensor would be made on the CPU, also on meta or CUDA
            if _check_writes(fn, args, kwargs, protected, index):
                protected.add(index)
            self.steps.append((fn, args, kwargs))
        if not 0 <= graph["output"] < len(self.inputs) + len(self.steps):
            raise ProgramError("the program's output refers to nothing")
        self.plan, self.output = execution_plan(self.steps, len(self.inputs), graph["output"])
        self.released = _last_uses(self.plan, len(self.inputs), self.output)

    def _decode(self, value, defined: int):
        """JSON to call arguments; a reference becomes a ``_Ref`` that must point to an earlier value.

        Literals are counted by stored.py: numbers written into the graph are numbers the model carries.
        """
        if isinstance(value, dict):
            (kind, inner), = value.items()
            if kind == "ref":
                if not (type(inner) is int and 0 <= inner < defined):
                    raise ProgramError("the program refers to a value before it is computed")
                return _Ref(inner)
            if kind == "list":
                return [self._decode(v, defined) for v in inner]
            if kind == "device":
                return self.device
            enum = getattr(torch, inner, None) if inner in _ALLOWED_ENUMS.get(kind, ()) else None
            if not isinstance(enum, _ENUMS.get(kind, ())):
                raise ProgramError(f"unknown {kind} {inner!r} in the program")
            return enum
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise ProgramError(f"unexpected value {value!r} in the program")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Run the plan; each intermediate value is dropped after its last use, as eager PyTorch
        frees it, so memory is reused (holding every value made MSRResNet ~17 % slower on CPU)."""
        values = [x if v is None else v for v in self.inputs]
        for (fn, args, kwargs), released in zip(self.plan, self.released):
            values.append(fn(*_fill(args, values), **{k: _fill(v, values) for k, v in kwargs.items()}))
            for index in released:
                values[index] = None
        return values[self.output]

    def weights_unchanged(self) -> bool:
        """Every weight still equals the file's, bit for bit (NaN-safe: bytes are compared)."""
        def as_bytes(t: torch.Tensor) -> torch.Tensor:
            return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
        return all(torch.equal(as_bytes(self.tensors[n]), as_bytes(t)) for n, t in self.pristine.items())


    def peak_bytes(self, shape: tuple[int, ...], limit: int) -> int:
        """Bytes held at the worst moment of a run on a ``shape`` input (weights included), found on
        the meta device without allocating; refused as soon as it passes ``limit``, so a program
        that would make a huge tensor is stopped before it is made. Views count once, with their
        storage. Only for a meta ``Program``."""
        if self.device.type != "meta":
            raise ValueError("peak_bytes runs on a meta Program")
        held: Counter = Counter()
        live = 0

        def hold(value) -> None:
            nonlocal live
            for key, nbytes in _storages(value):
                live += nbytes if held[key] == 0 else 0
                held[key] += 1

        values = [torch.empty(shape, device="meta") if v is None else v for v in self.inputs]
        for value in values:
            hold(value)
        peak = live
        size = "×".join(map(str, shape))
        for index, ((fn, args, kwargs), released) in enumerate(zip(self.plan, self.released)):
            try:
                value = fn(*_fill(args, values), **{k: _fill(v, values) for k, v in kwargs.items()})
            except Exception as exc:  # noqa: BLE001 - any failure to propagate shapes is the program's
                raise ProgramError(f"the program fails on a {size} input at step {index} ({_step_name(fn)}): "
                                   f"{str(exc)[:500]}") from None
            values.append(value)
            hold(value)
            peak = max(peak, live)
            if peak > limit:
                raise ProgramError(f"the program would hold {peak / 2**30:.1f} GiB at step {index} "
                                   f"({_step_name(fn)}) on a {size} input; the limit is {limit / 2**30:g} GiB")
            for i in released:
                for key, nbytes in _storages(values[i]):
                    held[key] -= 1
                    live -= nbytes if held[key] == 0 else 0
                values[i] = None
        return peak


def _storages(value) -> list[tuple[int, int]]:
    """(storage identity, bytes) of the tensors in a value (a tensor, or a list of them as ``split`` gives)."""
    if isinstance(value, torch.Tensor):
        storage = value.untyped_storage()
        return [(storage._cdata, storage.nbytes())]
    if isinstance(value, (list, tuple)):
        return [pair for v in value for pair in _storages(v)]
    return []


def _step_name(fn) -> str:
    fn = fn.functional if isinstance(fn, _Overwrite) else fn
    return fn._schema.name if isinstance(fn, torch._ops.OpOverload) else getattr(fn, "__name__", "?")


def _makes_tensors_without_device(fn, args: list, kwargs: dict) -> bool:
    if not isinstance(fn, torch._ops.OpOverload) or "device" in kwargs:
        return False
    names = [a.name for a in fn._schema.arguments]
    return "device" in names and names.index("device") >= len(args)


def _check_arguments(fn, name: str, args: list, kwargs: dict) -> None:
    """No pinned host memory; Python operators (shape arithmetic) take numbers and values only,
    so no list or string can be multiplied into something huge."""
    if kwargs.get("pin_memory"):
        raise ProgramError(f"the program asks {name} for pinned memory, which is not allowed")
    if not isinstance(fn, torch._ops.OpOverload):
        plain = args[1:] if fn is operator.getitem else args
        if kwargs or not all(isinstance(a, (_Ref, int, float, bool)) for a in plain):
            raise ProgramError(f"the program calls {name} on something other than numbers")


class _Ref(int):
    """Index of an earlier value in the interpreter's value list."""


def _last_uses(steps: list, first: int, output: int) -> list[tuple[int, ...]]:
    """For each step, the intermediate values (index ≥ ``first``) it is the last to read, but the output."""
    last: dict[int, int] = {}
    for step, (_fn, args, kwargs) in enumerate(steps):
        for index in _refs([args, list(kwargs.values())]):
            if index >= first:
                last[index] = step
    released: list[list[int]] = [[] for _ in steps]
    for index, step in last.items():
        if index != output:
            released[step].append(index)
    return [tuple(r) for r in released]


def _fill(template, values):
    if isinstance(template, _Ref):
        return values[template]
    if isinstance(template, list):
        return [_fill(t, values) for t in template]
    return template


# The execution plan: how the platform runs a graph, whichever way its author wrote it.
#
# The same network must be timed alike however its author wrote it: ``F.leaky_relu(x)`` and
# ``nn.LeakyReLU(inplace=True)`` export to different graphs (the out-of-place one allocates a fresh
# output for every activation and residual sum, 5-11 % of MSRResNet on a CPU), so the baseline, written
# in place, was timed faster than its own network written out of place. The plan first undoes the
# author's in-place writes where nothing else sees the written value (``relu_`` becomes ``relu``),
# then writes in place wherever an elementwise step's operand dies there and nothing aliases it: the
# platform's choice, the same for every program. Outputs are bit for bit those of the graph (the same
# kernel computes each element either way). Written here because torch.export's own functionalization
# (``run_decompositions``) also decomposes ops (conv2d, interpolation), which changes what is timed.

_UNARY = ("relu leaky_relu hardtanh gelu silu sigmoid tanh hardsigmoid hardswish elu selu celu mish neg abs "
          "sqrt rsqrt exp reciprocal clamp clamp_min clamp_max").split()
_BINARY = ("add", "sub", "mul", "div")
_COMMUTATIVE = ("add", "mul")


class _Overwrite:
    """An elementwise step run in place on one of its operands (a dead, unaliased intermediate), when
    the shapes and dtype allow it at run time; else the functional op."""

    def __init__(self, functional, in_place, position: int) -> None:
        self.functional, self.in_place, self.position = functional, in_place, position

    def __call__(self, *args, **kwargs):
        target = args[self.position]
        if self.position == 0 and self._fits(target, args[1:]):
            return self.in_place(*args, **kwargs)
        if self.position == 1 and self._fits(target, args[:1]):
            return self.in_place(target, args[0], **kwargs)  # add/mul only: a + b == b + a exactly
        return self.functional(*args, **kwargs)

    @staticmethod
    def _fits(target, others) -> bool:
        if not (isinstance(target, torch.Tensor) and target.is_floating_point()):
            return False
        for other in others[:1]:
            if isinstance(other, torch.Tensor):
                if torch.broadcast_shapes(target.shape, other.shape) != target.shape:
                    return False
            elif not isinstance(other, (int, float, bool)):
                return False
            if torch.result_type(target, other) != target.dtype:
                return False
        return True


def _in_place_twin(fn):
    """``aten::relu_.default`` for ``aten::relu.default``, if it is an allowed op."""
    if not isinstance(fn, torch._ops.OpOverload):
        return None
    base = fn._schema.name.removeprefix("aten::")
    if base not in _UNARY and base not in _BINARY:
        return None
    twin = getattr(getattr(torch.ops.aten, base + "_", None), fn._overloadname, None)
    return twin if f"aten::{base}_" in ALLOWED_OPS and isinstance(twin, torch._ops.OpOverload) else None


def _functional_twin(fn):
    """``aten::relu.default`` for ``aten::relu_.default``: an allowed in-place op writing to its first argument."""
    if not isinstance(fn, torch._ops.OpOverload) or not fn._schema.name.endswith("_"):
        return None
    first = fn._schema.arguments[0] if fn._schema.arguments else None
    if first is None or first.alias_info is None or not first.alias_info.is_write:
        return None
    base = fn._schema.name.removeprefix("aten::")[:-1]
    twin = getattr(getattr(torch.ops.aten, base, None), fn._overloadname, None)
    if f"aten::{base}" not in ALLOWED_OPS or not isinstance(twin, torch._ops.OpOverload):
        return None
    return twin if _in_place_twin(twin) is not None else None  # only the elementwise families planned here


def _aliased_inputs(fn, args: list, kwargs: dict) -> set[int]:
    """The values a step's result may share memory with: those its schema marks as aliased, the list
    an indexing picks from, or every tensor argument of an op known to alias without saying so."""
    if not isinstance(fn, torch._ops.OpOverload):
        return _refs(args[:1]) if fn is operator.getitem else set()
    schema = fn._schema
    if schema.name in _UNANNOTATED_ALIASES:
        return _refs([args, list(kwargs.values())])
    if not any(r.alias_info is not None for r in schema.returns):
        return set()
    bound = {**dict(zip((a.name for a in schema.arguments), args)), **kwargs}
    return set().union(*(_refs(bound.get(a.name)) for a in schema.arguments if a.alias_info is not None))


class _AliasGroups:
    """Values that may share memory, as the plan is walked step by step (union-find)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.members: dict[int, set[int]] = {}

    def root(self, value: int) -> int:
        while self.parent.get(value, value) != value:
            value = self.parent[value]
        return value

    def group(self, value: int) -> set[int]:
        return self.members.get(self.root(value), {value})

    def join(self, value: int, others: set[int]) -> None:
        for other in others:
            a, b = self.root(value), self.root(other)
            if a != b:
                self.parent[b] = a
                self.members[a] = self.group(a) | self.members.pop(b, {b})


def _remap(template, mapping: dict[int, int]):
    if isinstance(template, _Ref):
        return _Ref(mapping.get(int(template), int(template)))
    if isinstance(template, list):
        return [_remap(t, mapping) for t in template]
    return template


def execution_plan(steps: list, first: int, output: int) -> tuple[list, int]:
    """The steps as the platform runs them, and the output's index (see the comment above)."""
    functional, mapping, groups = [], {}, _AliasGroups()
    for step, (fn, args, kwargs) in enumerate(steps, start=first):
        args, kwargs = _remap(args, mapping), {k: _remap(v, mapping) for k, v in kwargs.items()}
        written = args[0] if args else None
        twin = _functional_twin(fn)
        if twin is not None and isinstance(written, _Ref) and written >= first and groups.group(written) == {written}:
            fn = twin  # nothing else sees the written value: later readers of it read this step's result
            mapping[int(written)] = step
        else:
            groups.join(step, _aliased_inputs(fn, args, kwargs))
        functional.append((fn, args, kwargs))
    output = mapping.get(output, output)

    last_use = {value: step for step, (_fn, args, kwargs) in enumerate(functional, start=first)
                for value in _refs([args, list(kwargs.values())])}
    last_use[output] = math.inf
    plan, groups = [], _AliasGroups()
    for step, (fn, args, kwargs) in enumerate(functional, start=first):
        in_place = _in_place_twin(fn)
        for position in (0, 1) if in_place is not None else ():
            if position == 1 and (fn._schema.name.removeprefix("aten::") not in _COMMUTATIVE
                                  or kwargs.get("alpha", 1) != 1 or len(args) < 2):
                break
            target = args[position] if position < len(args) else None
            if not isinstance(target, _Ref) or target < first:
                continue
            group = groups.group(int(target))
            others = _refs([args[:position] + args[position + 1:], list(kwargs.values())]) - {int(target)}
            if min(group) >= first and max(last_use.get(v, -1) for v in group) == step and not others & group:
                fn = _Overwrite(fn, in_place, position)
                groups.join(step, {int(target)})
                break
        if not isinstance(fn, _Overwrite):
            groups.join(step, _aliased_inputs(fn, args, kwargs))
        plan.append((fn, args, kwargs))
    return plan, output
