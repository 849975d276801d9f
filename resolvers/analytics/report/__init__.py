"""The annual report of the published statistics: figures, HTML/SVG page, CSV/JSON files and its routes."""
