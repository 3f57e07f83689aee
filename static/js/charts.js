// Draws the bar charts of a page from the JSON in <script id="chart-data">.
// The same numbers are already in tables on the page, so the page is useful
// before this file and Chart.js arrive, and without them.
(function () {
  "use strict";

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
      if (!series || !series.labels.length) {
        return;
      }
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: series.labels,
          datasets: [{ data: series.values, backgroundColor: colour }]
        },
        options: {
          animation: false,
          responsive: true,
          plugins: { legend: { display: false }, tooltip: { enabled: true } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
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
