"""Components: plotly figure builders (pure, testable) and small render helpers."""
