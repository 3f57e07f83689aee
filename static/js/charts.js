// Draws the bar charts of a page from the JSON in <script id="chart-data">.
// The same numbers are already in tables on the page, so the page is useful
// before this file and Chart.js arrive, and without them.
(function () {
  "use strict";

  // Colours that stay apart for colour-blind readers (Okabe and Ito's palette).
  var PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"];

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var colour = getComputedStyle(document.documentElement)
      .getPropertyValue("--pico-primary").trim() || "#015887";
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var series = data[canvas.dataset.chart];
      if (!series || !series.labels.length || (series.series && !series.series.length)) {
        return;
      }
      // One bar per label, or with "series", one stacked bar part per series.
      var stacked = Boolean(series.series);
      var datasets = stacked
        ? series.series.map(function (part, index) {
            return { label: part.label, data: part.values, backgroundColor: PALETTE[index % PALETTE.length] };
          })
        : [{ data: series.values, backgroundColor: colour }];
      new window.Chart(canvas, {
        type: "bar",
        data: { labels: series.labels, datasets: datasets },
        options: {
          animation: false,
          responsive: true,
          plugins: { legend: { display: stacked }, tooltip: { enabled: true } },
          scales: {
            x: { stacked: stacked },
            y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } }
          }
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
