"""The one number formatter (richneuron.formatting): a metric, an interval, a ratio and a
comparison as the book prints them, and the short form of a table cell."""

import math
from types import SimpleNamespace

import pytest

from richneuron.formatting import (
    compact,
    format_advantage,
    format_comparison,
    format_interval,
    format_metric,
    format_percent,
    format_ratio,
)


@pytest.mark.parametrize(
    "value,metric,text",
    [
        (5.41e-4, "mse", "5.41e-4"),
        (0.000540, "mse", "5.4e-4"),
        (0.0312, "mse", "0.0312"),
        (0.01, "mse", "0.01"),
        (41.66, "mse", "41.7"),
        (999.4, "mse", "999"),
        (2.2e5, "mse", "2.2e5"),
        (1.234e-11, "mse", "1.23e-11"),
        (0.0, "mse", "0"),
        (0.9123, "accuracy", "91.2%"),
        (1.0, "accuracy", "100%"),
        (0.00346, "accuracy", "0.346%"),
        (math.nan, "mse", "nan"),
        (math.inf, "accuracy", "inf"),
    ],
)
def test_compact_gives_three_significant_figures(value, metric, text):
    assert compact(value, metric) == text


def test_a_metric_an_interval_and_a_ratio():
    assert format_metric(0.0123456, "mse") == "0.0123"
    assert format_metric(0.4123, "accuracy") == "41.2%"
    assert format_metric(math.nan, "mse") == "nan"
    assert format_percent(0.4123) == "41.2%"
    assert format_interval(0.01, 0.02, "mse") == "[0.01, 0.02]"
    assert format_interval(math.nan, 0.02, "mse") == "[no interval]"
    assert (format_ratio(3.21), format_ratio(1234.4)) == ("3.21x", "1,234x")


def test_a_comparison_is_a_ratio_of_mses_or_a_difference_in_points():
    ratio = SimpleNamespace(estimate=3.2, low=1.1, high=9.8)
    points = SimpleNamespace(estimate=0.041, low=0.01, high=0.072)
    unknown = SimpleNamespace(estimate=math.nan, low=math.nan, high=math.nan)
    assert format_comparison(ratio, "mse") == "3.2x [1.1x, 9.8x]"
    assert format_comparison(points, "accuracy") == "+4.1 [+1.0, +7.2] points"
    assert format_comparison(unknown, "mse") == "no interval"
    assert format_advantage(ratio, "mse", "v10", "vanilla") == "vanilla / v10 MSE 3.2x [1.1x, 9.8x]"
    assert format_advantage(points, "accuracy", "v10", "vanilla") == (
        "v10 − vanilla +4.1 [+1.0, +7.2] points"
    )
    assert format_advantage(unknown, "mse").startswith("no interval")
