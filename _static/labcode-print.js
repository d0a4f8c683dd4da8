// A chapter on paper: every answer shown.
//
// Printing a page prints what is open. Before printing, every closed dropdown ("An
// answer", the solutions) is opened; after printing, those are closed again. Wrapped
// code lines and figures kept whole are in labcode.css (@media print).
(() => {
  let opened = [];
  window.addEventListener("beforeprint", () => {
    opened = Array.from(document.querySelectorAll(".bd-article details:not([open])"));
    opened.forEach((d) => { d.open = true; });
  });
  window.addEventListener("afterprint", () => {
    opened.forEach((d) => { d.open = false; });
    opened = [];
  });
})();
