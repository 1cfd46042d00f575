"""The bag label as Zebra ZPL II (issue 5): the same content as the PDF, for thermal printers that take ZPL.

Every data field is preceded by ^FH so its text is read with hexadecimal escapes; user text is escaped so it can
never close the field or start a command: ^ and ~ (ZPL's command prefixes), _ (the ^FH escape indicator itself),
and every byte outside printable ASCII (control characters, and UTF-8 bytes, read back under ^CI28) are written
as _XX.  The QR is a ^BQ field carrying the scan payload; the ISBT 128 DIN and product code data structures are ^BC
(Code 128) fields.
"""
DPI = 203  # 8 dots/mm, the usual Zebra print head

_PLAIN = frozenset(range(0x20, 0x7F)) - {ord("^"), ord("~"), ord("_")}


def escape(text):
    """Field data safe inside ^FH^FD ... ^FS: no raw ^, ~, _ or byte outside printable ASCII."""
    return "".join(chr(b) if b in _PLAIN else f"_{b:02X}" for b in str(text).encode("utf-8"))


def unescape(data):
    """The inverse of escape(), as a printer applies ^FH (default indicator _). For tests and round trips."""
    out, i = bytearray(), 0
    while i < len(data):
        if data[i] == "_":
            out.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            out.extend(data[i].encode("utf-8"))
            i += 1
    return out.decode("utf-8")


class _Label:
    def __init__(self, width_in, height_in):
        self.width, self.height = round(width_in * DPI), round(height_in * DPI)
        self.lines = ["^XA", "^CI28", f"^PW{self.width}", f"^LL{self.height}", "^LH0,0"]

    def text(self, x, y, value, size=22, bold=False, width=None, max_lines=1):
        font = f"^A0N,{size},{size + 2 if bold else size}"
        block = f"^FB{width or self.width - x - 16},{max_lines},0,L,0" if width or max_lines > 1 else ""
        self.lines.append(f"^FO{x},{y}{font}{block}^FH^FD{escape(value)}^FS")

    def box(self, x, y, w, h, thickness=2):
        self.lines.append(f"^FO{x},{y}^GB{w},{h},{thickness}^FS")

    def qr(self, x, y, payload, magnification=5):
        # ^BQN,2,m: normal orientation, model 2; field data "MA," = error correction M, automatic input mode.
        self.lines.append(f"^FO{x},{y}^BQN,2,{magnification}^FH^FDMA,{escape(payload)}^FS")

    def code128(self, x, y, data, height=70, module=2):
        # ^BC: orientation N, height, no interpretation line (printed separately), mode A (automatic subsets).
        self.lines.append(f"^FO{x},{y}^BY{module}^BCN,{height},N,N,N,A^FH^FD{escape(data)}^FS")

    def done(self):
        return "\n".join(self.lines + ["^XZ"]) + "\n"


def bag_label(c, width_in=4, height_in=4):
    """One ^XA ... ^XZ label from a label context (services.label_context): the PDF's content in the same order,
    the two identifiers, volume and expiry in the largest type, REPRINT as a reversed band at the top (^FR over a
    filled box) that covers no figure, both ISBT 128 Code 128 symbols (^BC) and the QR (^BQ)."""
    z = _Label(width_in, height_in)
    m, y = 24, 20
    if c["reprint"]:
        z.box(m, y - 4, z.width - 2 * m, 30, thickness=30)
        band = f"REPRINT {c['number'] - 1} (print {c['number']}): {c['reprint_reason']}"
        z.lines.append(f"^FO{m + 6},{y}^A0N,22,22^FB{z.width - 2 * m - 12},1,0,L,0^FR^FH^FD{escape(band)}^FS")
        y += 34
    z.text(m, y, c["product_name"], size=26, bold=True, width=420, max_lines=1)
    z.text(m, y + 30, f"Product code {c['product_code']} · Protocol {c['protocol']}", size=20, width=420)
    z.text(452, y, c["din_display"], size=32, bold=True, width=290)
    z.box(748, y - 6, 44, 44)
    z.text(757, y, c["check_character"], size=32, bold=True, width=40)
    y += 58
    z.box(m, y, z.width - 2 * m, 2)
    y += 8
    z.text(m, y, "Subject", size=18, bold=True, width=380)
    z.text(420, y, "Wristband", size=18, bold=True, width=z.width - 420 - m)
    z.text(m, y + 20, c["subject_code"], size=40, bold=True, width=380)
    z.text(420, y + 20, c["wristband"], size=40, bold=True, width=z.width - 420 - m)
    y += 66
    z.text(m, y, "Final volume", size=18, bold=True, width=220)
    z.text(250, y, "Expires (use by)", size=18, bold=True, width=z.width - 250 - m)
    z.text(m, y + 20, c["volume"], size=40, bold=True, width=220)
    z.text(250, y + 20, c["expires_at"], size=40, bold=True, width=z.width - 250 - m)
    y += 68
    z.box(m, y, z.width - 2 * m, 2)
    y += 8
    for key, value, x in (("Cohort dose", c["cohort_dose"], m), ("Thawed", c["thawed_at"], 420),
                          ("Delivered", c["delivered_cells"], m), ("Bag", c["bag_code"], 420)):
        z.text(x, y, key, size=20, bold=True, width=130)
        z.text(x + 135, y, value, size=20, width=380 - 135 if x == m else z.width - x - 135 - m)
        if x == 420:
            y += 24
    z.text(m, y + 4, c["handling_text"], size=20, bold=True, width=z.width - 2 * m, max_lines=2)
    y += 56
    z.code128(m, y, c["code128_text"], height=56)
    z.text(m, y + 60, c["code128_text"], size=18)
    if c["product_code128_text"]:
        z.code128(m, y + 88, c["product_code128_text"], height=56)
        z.text(m, y + 148, c["product_code128_text"], size=18)
    z.qr(600, y - 4, c["scan"])
    y += 176
    z.text(m, y, "Caution: New Drug—Limited by Federal (or United States) law to investigational use.",
           size=17, bold=True, width=z.width - 2 * m, max_lines=2)
    z.text(m, y + 40, "For intravenous use only. Do not irradiate. Do not use a leukocyte reduction filter.",
           size=17, bold=True, width=z.width - 2 * m, max_lines=2)
    return z.done()


def bag_labels(contexts, width_in=4, height_in=4):
    return "".join(bag_label(c, width_in, height_in) for c in contexts)
