"""The charts' plain figure dicts are valid plotly figures (checked by plotly's own validation),
carry exactly the view's numbers, and cannot end their <script> element."""
import json

import plotly.graph_objects as go

from dashboard import charts

ROWS = [{"hour": "2024-12-29T%02d" % hour, "events": 10 * hour, "distinct_users": hour, "product_page_visits": 2,
         "cart_adds": 1, "purchases": hour % 2} for hour in (0, 5, 23)]


def test_figures_pass_plotlys_validation_and_keep_the_numbers():
    sessions = [{"session_id": "s1", "timeline": [("2024-12-29T00:00:00.000Z", "page", "home", None),
                                                  ("2024-12-29T00:01:00.000Z", "action", "purchase", "p-1")]}]
    figures = [charts.traffic_figure("2024-12-29", ROWS),
               charts.funnel_figure([{"product_id": 7, "views": 3, "cart_adds": 2, "purchases": 1}]),
               charts.top_users_figure([{"user_id": "u", "click_count": 4}]),
               charts.timeline_figure("u", sessions)]
    for figure in figures:
        go.Figure(figure)  # raises ValueError for any attribute plotly does not know
    traffic = {trace["meta"]: trace for trace in figures[0]["data"]}
    assert traffic["events"]["x"] == ["00:00", "05:00", "23:00"] and traffic["events"]["y"] == [0, 50, 230]
    assert traffic["purchases"]["y"] == [0, 1, 1]
    assert [trace["x"] for trace in figures[3]["data"]] == [["2024-12-29T00:00:00.000Z"], ["2024-12-29T00:01:00.000Z"]]


def test_script_json_cannot_close_the_script_element():
    figure = charts.top_users_figure([{"user_id": "</script><script>alert(1)</script>&amp;", "click_count": 1}])
    figure["layout"]["title"]["text"] = "</script>&"  # unescaped text too
    text = charts.script_json(figure)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["data"][0]["x"] == [charts.label("</script><script>alert(1)</script>&amp;")]


def test_labels_show_markup_as_text():
    figure = charts.top_users_figure([{"user_id": "<i>x</i> & y", "click_count": 1}])
    assert figure["data"][0]["x"] == ["&lt;i&gt;x&lt;/i&gt; &amp; y"]
    assert charts.label(7) == "7"
