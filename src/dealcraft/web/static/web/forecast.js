/* The forecast pages' chart, drawn with Chart.js from the numbers the page carries in its
 * `forecast-chart-data` JSON block ({type, labels, series: [{label, data}], y_title}). The
 * table next to it holds the same numbers, so without JavaScript nothing is lost but the
 * picture. */
(function () {
  "use strict";

  var COLOURS = ["#2456c7", "#1d7a46", "#9a5b00", "#b3261e", "#5d6778", "#7a3ea1", "#0f7c8c"];

  function draw() {
    var source = document.getElementById("forecast-chart-data");
    var box = document.querySelector('[data-chart="forecast"]');
    if (!source || !box || typeof window.Chart === "undefined") {
      return;
    }
    var spec = JSON.parse(source.textContent);
    if (!spec || !spec.labels || !spec.labels.length) {
      return;
    }
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
          var colour = COLOURS[i % COLOURS.length];
          return { label: series.label, data: series.data, backgroundColor: colour,
                   borderColor: colour, spanGaps: true };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true,
                       title: { display: Boolean(spec.y_title), text: spec.y_title || "" } } }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
