"""The leaderboard page's only script: sort by any column, inline so the page stays one file.

Clicking a header sorts that table's runs inside their groups (scores and counts best first,
text A→Z; clicking again reverses) and reorders the other tables of the task the same way, so a
run keeps one position on the page. Sorting by a score column re-ranks the runs (equal shown
scores share a rank). The sort is kept in the URL fragment, `#sort=counting` or
`#sort=counting:asc`, which is applied on load: a sorted view can be shared as a link.
"""

SORT_SCRIPT = r"""
(function () {
  "use strict";
  function headerOf(section, key) {
    var headers = section.querySelectorAll("table[data-sortable] th[data-key]");
    for (var i = 0; i < headers.length; i++) if (headers[i].getAttribute("data-key") === key) return headers[i];
    return null;
  }
  function sortKey(cell, numeric) {
    if (!numeric) return cell.textContent.trim().toLowerCase();
    var value = parseFloat(cell.getAttribute("data-value"));
    return isNaN(value) ? null : value;
  }
  function compare(a, b, numeric, ascending) {
    if (a === b) return 0;
    if (a === null) return 1;  // n/a last, whichever the direction
    if (b === null) return -1;
    var order = numeric ? a - b : (a < b ? -1 : 1);
    return ascending ? order : -order;
  }
  function sortSection(section, key, direction) {
    var header = headerOf(section, key);
    if (!header) return false;
    var table = header.closest("table");
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var numeric = header.hasAttribute("data-numeric");
    var ascending = direction ? direction === "asc" : header.getAttribute("data-first") === "asc";
    var keys = {}, shown = {};
    table.querySelectorAll("tbody tr[data-run]").forEach(function (row) {
      var cell = row.children[index];
      keys[row.getAttribute("data-run")] = sortKey(cell, numeric);
      shown[row.getAttribute("data-run")] = cell.getAttribute("data-shown");
    });
    section.querySelectorAll("table[data-sortable] tbody").forEach(function (body) {
      var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-run]"));
      rows.sort(function (a, b) { return compare(keys[a.getAttribute("data-run")], keys[b.getAttribute("data-run")], numeric, ascending); });
      rows.forEach(function (row) { body.appendChild(row); });
    });
    if (header.hasAttribute("data-score")) {
      var runs = Object.keys(keys).sort(function (a, b) { return compare(keys[a], keys[b], true, false); });
      var ranks = {};
      runs.forEach(function (run, i) {
        var previous = runs[i - 1];
        ranks[run] = previous !== undefined && shown[previous] === shown[run] ? ranks[previous] : i + 1;
      });
      section.querySelectorAll("tr[data-run] td.rank").forEach(function (cell) {
        cell.textContent = ranks[cell.parentNode.getAttribute("data-run")];
        cell.setAttribute("data-value", cell.textContent);
      });
    }
    section.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    section.setAttribute("data-sorted-by", key + ":" + (ascending ? "asc" : "desc"));
    return true;
  }
  function applyFragment() {
    var match = /^#sort=([^:]*)(?::(asc|desc))?$/.exec(window.location.hash);
    if (!match) return;
    var key = decodeURIComponent(match[1]);
    document.querySelectorAll("section[data-task]").forEach(function (section) { sortSection(section, key, match[2]); });
  }
  document.querySelectorAll("table[data-sortable] th[data-key]").forEach(function (header) {
    header.tabIndex = 0;
    function sortHere() {
      var section = header.closest("section[data-task]");
      var key = header.getAttribute("data-key");
      var current = section.getAttribute("data-sorted-by") || "";
      var first = header.getAttribute("data-first");
      var direction = current === key + ":" + first ? (first === "asc" ? "desc" : "asc") : first;
      sortSection(section, key, direction);
      try { history.replaceState(null, "", "#sort=" + encodeURIComponent(key) + ":" + direction); } catch (e) { /* file: pages may refuse */ }
    }
    header.addEventListener("click", sortHere);
    header.addEventListener("keydown", function (event) { if (event.key === "Enter") sortHere(); });
  });
  window.addEventListener("hashchange", applyFragment);
  applyFragment();
})();
"""
