// Draws every chart of the page from its JSON block, and submits the day picker on change.
document.querySelectorAll("[data-figure]").forEach(function (div) {
  var figure = JSON.parse(document.getElementById(div.dataset.figure).textContent);
  Plotly.newPlot(div, figure.data, figure.layout, {displaylogo: false, responsive: true});
});
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
