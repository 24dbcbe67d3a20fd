/* The manager view's charts, drawn with Chart.js from the numbers the page carries in its
 * `team-chart-data` JSON block. The tables under each chart hold the same numbers, so without
 * JavaScript (or Chart.js) nothing is lost but the pictures. */
(function () {
  "use strict";

  var COLOURS = {
    pipeline: "#2456c7",
    best_case: "#1d7a46",
    commit: "#9a5b00",
    omitted: "#8a93a3",
    closed: "#5d6778",
    passed: "#1d7a46",
    warned: "#c98a00",
    overridden: "#b3261e",
    reached: "#9db5e8",
    advanced: "#2456c7"
  };

  function colour(key) {
    return COLOURS[key] || "#5d6778";
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : Math.round(value * 100) + "%";
  }

  function show(name, config) {
    var box = document.querySelector('[data-chart="' + name + '"]');
    if (!box) {
      return;
    }
    box.hidden = false;
    new window.Chart(box.querySelector("canvas"), config);
  }

  function draw() {
    var source = document.getElementById("team-chart-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var Chart = window.Chart;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#1d2430";
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      Chart.defaults.animation = false;
    }
    var common = { responsive: true, maintainAspectRatio: false };

    show("pipeline", {
      type: "bar",
      data: {
        labels: data.pipeline.labels,
        datasets: data.pipeline.series.map(function (series) {
          return { label: series.label, data: series.data, backgroundColor: colour(series.key) };
        })
      },
      options: Object.assign({}, common, {
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 },
               title: { display: true, text: "Open deals" } }
        }
      })
    });

    var funnel = data.funnel;
    show("funnel", {
      type: "bar",
      data: {
        labels: funnel.labels,
        datasets: [
          { label: "Reached", data: funnel.reached, backgroundColor: colour("reached") },
          { label: "Advanced", data: funnel.advanced, backgroundColor: colour("advanced") }
        ]
      },
      options: Object.assign({}, common, {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 },
                       title: { display: true, text: "Deals" } } },
        plugins: {
          tooltip: {
            callbacks: {
              afterBody: function (items) {
                return "Conversion: " + percent(funnel.conversion[items[0].dataIndex]);
              }
            }
          }
        }
      })
    });

    var adherence = data.adherence;
    if (adherence.labels.length) {
      show("adherence", {
        type: "bar",
        data: {
          labels: adherence.labels,
          datasets: [
            { label: "Passed", data: adherence.passed, backgroundColor: colour("passed") },
            { label: "With warnings", data: adherence.warned, backgroundColor: colour("warned") },
            { label: "Overridden", data: adherence.overridden,
              backgroundColor: colour("overridden") }
          ]
        },
        options: Object.assign({}, common, {
          indexAxis: "y",
          scales: {
            x: { stacked: true, beginAtZero: true, ticks: { precision: 0 },
                 title: { display: true, text: "Moves" } },
            y: { stacked: true }
          }
        })
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
