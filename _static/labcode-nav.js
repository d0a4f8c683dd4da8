// The site's navigation buttons, made to work on every width.
//
// The theme draws two buttons of each kind: the "contents" (primary) and "On this page"
// (secondary) toggles in the top bar, hidden by this layout, and the ones in the article's
// header, which the reader sees. Both theme scripts attach their click handlers to the
// first button of each kind in the page, the hidden one. A click on any other button of
// the same kind is passed on to that first one, so its handlers run: on a wide screen the
// sidebar collapses, on a phone the drawer opens.
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of [".primary-toggle", ".secondary-toggle"]) {
    const buttons = Array.from(document.querySelectorAll(kind));
    const first = buttons[0];
    for (const button of buttons.slice(1)) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        first.click();
      });
    }
  }
});
