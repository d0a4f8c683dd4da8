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
});
