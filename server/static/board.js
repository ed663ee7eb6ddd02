// Progressive enhancement only: switch track tabs in place. Without JavaScript the same links
// load ?track=… and the server renders the page with that track shown.
const tabs = document.querySelectorAll("nav.tabs a.tab");
for (const tab of tabs) {
  tab.addEventListener("click", (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    for (const other of tabs) {
      const chosen = other === tab;
      if (chosen) other.setAttribute("aria-current", "page");
      else other.removeAttribute("aria-current");
      document.getElementById("track-" + other.dataset.track).hidden = !chosen;
    }
    history.replaceState(null, "", tab.href);
  });
}
