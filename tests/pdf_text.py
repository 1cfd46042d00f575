"""The text of a PDF as pypdfium2 extracts it, pages joined, whitespace collapsed (for records and certificates);
and its runs of text with their font sizes and boxes (for label layout)."""
import ctypes

import pypdfium2


def pdf_text(pdf):
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = []
        for page in document:
            text_page = page.get_textpage()
            pages.append(text_page.get_text_range())
            text_page.close()
            page.close()
    finally:
        document.close()
    return " ".join(" ".join(pages).split())


class Run:
    """A run of text as laid out: consecutive characters of one font size on one baseline, with the union of their
    tight glyph boxes (PDF points, origin bottom left)."""

    def __init__(self, size):
        self.size, self.text, self.box = size, "", None

    def add(self, char, box):
        self.text += char
        if box is not None:
            self.box = box if self.box is None else (min(self.box[0], box[0]), min(self.box[1], box[1]),
                                                     max(self.box[2], box[2]), max(self.box[3], box[3]))

    def overlaps(self, other, tolerance=0.2):
        (l1, b1, r1, t1), (l2, b2, r2, t2) = self.box, other.box
        return min(r1, r2) - max(l1, l2) > tolerance and min(t1, t2) - max(b1, b2) > tolerance

    def __repr__(self):
        return f"Run({self.text!r}, size={self.size:.2f}, box={tuple(round(v, 1) for v in self.box)})"


def text_runs(pdf, index=0):
    """The runs of text on one page, read from pdfium's text page: each character's font size (FPDFText_GetFontSize)
    and tight box. A run ends where the size or the baseline changes, at a line break pdfium generates, or at a gap
    wider than the font size (two blocks side by side; a word space is a third of it)."""
    import pypdfium2.raw as raw

    document = pypdfium2.PdfDocument(pdf)
    runs = []
    try:
        page = document[index]
        text_page = page.get_textpage()
        current, last_right, last_base = None, None, None
        for i in range(text_page.count_chars()):
            char = text_page.get_text_range(i, 1)
            generated = raw.FPDFText_IsGenerated(text_page.raw, i) == 1
            size = raw.FPDFText_GetFontSize(text_page.raw, i)
            left, bottom, right, top = text_page.get_charbox(i)
            x, y = ctypes.c_double(), ctypes.c_double()
            raw.FPDFText_GetCharOrigin(text_page.raw, i, ctypes.byref(x), ctypes.byref(y))
            base = y.value
            if char in "\r\n":
                current = None
                continue
            if generated:  # a space pdfium infers between words: the gap test below decides
                continue
            points = size * 0.75  # pdfium reports the size in CSS px as WeasyPrint writes it; 1 pt = 4/3 px
            if (current is None or abs(size - current.size) > 0.01 or abs(base - last_base) > 0.5
                    or left - last_right > points):
                current = Run(size)
                runs.append(current)
            if char.isspace():
                current.add(char, None)
            else:
                current.add(char, (left, bottom, right, top))
                last_right = right
            last_base = base
        text_page.close()
        page.close()
    finally:
        document.close()
    for run in runs:
        run.text = run.text.strip()
    return [r for r in runs if r.text and r.box is not None]
