/* A report page's chart, drawn with Chart.js from the `report-chart-data` JSON block. The
 * tables under it hold the same numbers, so without JavaScript nothing is lost but the
 * picture. */
(function () {
  "use strict";

  var COLOURS = ["#2456c7", "#1d7a46", "#c98a00", "#b3261e", "#5d6778", "#8a93a3"];

  function draw() {
    var source = document.getElementById("report-chart-data");
    var box = document.querySelector("[data-report-chart]");
    if (!source || !box || typeof window.Chart === "undefined") {
      return;
    }
    var spec = JSON.parse(source.textContent);
    var Chart = window.Chart;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#1d2430";
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      Chart.defaults.animation = false;
    }
    box.hidden = false;
    new Chart(box.querySelector("canvas"), {
      type: spec.type || "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, i) {
          return {
            label: series.label,
            data: series.data,
            backgroundColor: COLOURS[i % COLOURS.length],
            borderColor: COLOURS[i % COLOURS.length]
          };
        })
      },
      options: { responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true } } }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
