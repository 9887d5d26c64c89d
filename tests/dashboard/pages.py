"""Reading the dashboard's HTML back: the rows of a table, keyed by their data-* attribute, with
each data-field cell's text (the unescaped value a person sees)."""
from html.parser import HTMLParser


class _Rows(HTMLParser):
    def __init__(self, table_id, key):
        super().__init__(convert_charrefs=True)
        self.table_id, self.key = table_id, key
        self.depth = 0  # >0 inside the wanted table
        self.rows, self.row, self.field, self.text = {}, None, None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (self.depth or attrs.get("id") == self.table_id):
            self.depth += 1
        elif self.depth == 1 and tag == "tr" and self.key in attrs:
            self.row = self.rows.setdefault(attrs[self.key], {})
        elif self.depth == 1 and self.row is not None and tag == "td" and "data-field" in attrs:
            self.field, self.text = attrs["data-field"], []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "td" and self.field:
            self.row[self.field] = "".join(self.text).strip()
            self.field = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, text):
        if self.field:
            self.text.append(text)


def table_rows(html, table_id, key):
    """{row's data-<key> value: {field: text}} of the table with id ``table_id``."""
    parser = _Rows(table_id, "data-" + key)
    parser.feed(html)
    return parser.rows
