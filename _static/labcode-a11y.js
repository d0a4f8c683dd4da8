// What a screen reader announces matches what the page shows, and every figure opens at
// full size with a tap.
//
// - The theme's search fields are labelled "Search" while they show "Search Ctrl+K"; a
//   name that leaves out the visible text fails WCAG 2.5.3, so their text is their name.
// - Icons inside a labelled button (the colour-mode button's sun, moon and half circle,
//   each with a title) are decoration; the colour-mode button is named by a text that
//   only screen readers read instead of a label its titled icons contradict.
// - A figure drawn for a wide screen is small on a phone: each image in the article
//   becomes a link to the image itself, which the phone shows at full size and zoomable.
// - A code box that scrolls sideways must take the keyboard's focus to be scrolled
//   without a mouse. The theme decides that when the page loads, when its width changes
//   and when content is added, but not when a hidden answer or dropdown is opened: its
//   boxes were hidden, so not scrollable, at load. They are looked at again whenever a
//   class or an open attribute changes in the article.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".search-button-field[aria-label]")) {
    button.removeAttribute("aria-label");
  }
  for (const icon of document.querySelectorAll("button[aria-label] i, a[aria-label] i")) {
    icon.setAttribute("aria-hidden", "true");
    icon.removeAttribute("title");
  }
  for (const button of document.querySelectorAll(".theme-switch-button[aria-label]")) {
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = button.getAttribute("aria-label");
    button.removeAttribute("aria-label");
    button.appendChild(name);
  }
  for (const img of document.querySelectorAll(".bd-article img")) {
    if (img.closest("a")) continue;
    const link = document.createElement("a");
    link.href = img.getAttribute("src");
    link.className = "labcode-full-image";
    link.title = "Open the image at full size";
    img.replaceWith(link);
    link.appendChild(img);
  }
  const article = document.querySelector(".bd-article");
  if (article) {
    // one call per batch of changes: the observer hands them over together
    new MutationObserver(() => {
      for (const box of article.querySelectorAll("pre")) {
        box.tabIndex = box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight ? 0 : -1;
      }
    }).observe(article, {subtree: true, attributes: true, attributeFilter: ["class", "open"]});
  }
});
