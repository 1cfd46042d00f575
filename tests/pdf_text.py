"""The text of a PDF as pypdfium2 extracts it, pages joined, whitespace collapsed (for records and certificates)."""
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
