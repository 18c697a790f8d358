/*
 * Make the sidebar toggle buttons work (primary sidebar "hamburger" and "On this page").
 *
 * Cause: pydata-sphinx-theme 0.17 renders its own top bar (<header id="pst-header">) holding a
 * `.primary-toggle` and a `.secondary-toggle` button. sphinx-book-theme 1.3 hides those two
 * (`.bd-header button.sidebar-toggle {display: none}`) and shows its own pair in the article
 * header instead. But both themes bind their click handlers with
 * `document.querySelector(".primary-toggle")` / `(".secondary-toggle")`, which returns the
 * first such button in the page: the hidden one in #pst-header. pydata's handler (open the
 * sidebar as a modal <dialog>, below 992 px) and the book theme's (collapse the sidebar, from
 * 992 px) therefore sit on buttons nobody can click, and the visible buttons do nothing at any
 * width (upstream: pydata-sphinx-theme #2451, sphinx-book-theme #988).
 *
 * Fix: a click on a visible toggle is forwarded to the button the themes bound, so their own
 * code (dialog, collapse, focus handling, Escape) runs unchanged. The listener sits on the
 * document in the capture phase, so it does not depend on the order in which the scripts load.
 * Should a theme release bind the visible buttons itself, this does nothing: forwarding happens
 * only when the clicked button is not the first of its kind. ebp-reading.css hides the empty
 * #pst-header bar. tests/site/test_site.py checks both toggles at 390 and 1400 px.
 *
 * Also: a link to a section of this page, followed from a sidebar opened as a dialog (the page
 * contents on a phone), closes the dialog, so the reader sees the section it scrolled to.
 */
(function () {
  "use strict";
  document.addEventListener(
    "click",
    function (event) {
      var target = event.target;
      if (!(target instanceof Element)) return;
      var clicked = target.closest(".primary-toggle, .secondary-toggle");
      if (!clicked) return;
      var kind = clicked.classList.contains("primary-toggle")
        ? ".primary-toggle"
        : ".secondary-toggle";
      var bound = document.querySelector(kind);
      if (!bound || bound === clicked) return;
      event.preventDefault();
      event.stopPropagation();
      bound.click();
    },
    true,
  );
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var link = target.closest("a[href]");
    var dialog = link && link.closest("dialog[open]");
    if (!dialog || !/-sidebar-modal$/.test(dialog.id)) return;
    if (link.hash && link.pathname === window.location.pathname) dialog.close();
  });
})();
