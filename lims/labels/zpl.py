"""The bag label as Zebra ZPL II (issue 5): the same content as the PDF, for thermal printers that take ZPL.

Every data field is preceded by ^FH so its text is read with hexadecimal escapes; user text is escaped so it can
never close the field or start a command: ^ and ~ (ZPL's command prefixes), _ (the ^FH escape indicator itself),
and every byte outside printable ASCII (control characters, and UTF-8 bytes, read back under ^CI28) are written
as _XX.  The QR is a ^BQ field carrying the scan payload; the ISBT 128 DIN data structure a ^BC (Code 128) field.
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
    """One ^XA ... ^XZ label from a label context (services.label_context)."""
    z = _Label(width_in, height_in)
    m = 24
    z.text(m, m, c["product_name"], size=30, bold=True, width=420, max_lines=2)
    z.text(m, 92, f"Product code {c['product_code']}", size=22)
    z.text(452, m, c["din_display"], size=32, bold=True, width=290)
    z.box(748, m - 6, 44, 44)
    z.text(757, m, c["check_character"], size=32, bold=True, width=40)
    z.box(m, 124, z.width - 2 * m, 2)
    rows = [("Subject", f"{c['subject_code']} / wristband {c['wristband']}"), ("Cohort dose", c["cohort_dose"]),
            ("Delivered cells", c["delivered_cells"]), ("Final volume", c["volume"]),
            ("Thawed", c["thawed_at"]), ("Expires", c["expires_at"]), ("Bag", c["bag_code"])]
    y = 136
    for key, value in rows:
        z.text(m, y, key, size=22, bold=True, width=190)
        z.text(220, y, value, size=22, width=z.width - 220 - m)
        y += 28
    z.code128(m, y + 10, c["code128_text"])
    z.text(m, y + 86, c["code128_text"], size=20)
    z.qr(600, y - 4, c["scan"])
    y += 200
    z.text(m, y, c["storage_text"], size=18, width=z.width - 2 * m, max_lines=3)
    z.text(m, y + 62, "Caution: New Drug—Limited by Federal (or United States) law to investigational use.",
           size=18, bold=True, width=z.width - 2 * m, max_lines=2)
    z.text(m, y + 104, "For intravenous use only. Do not irradiate. Do not use a leukocyte reduction filter.",
           size=18, bold=True, width=z.width - 2 * m, max_lines=2)
    if c["reprint"]:
        z.text(m, y + 146, f"REPRINT — print {c['number']}: {c['reprint_reason']}", size=18, bold=True,
               width=z.width - 2 * m, max_lines=2)
        z.lines.append(f"^FO{m},330^A0N,90,90^FB{z.width - 2 * m},1,0,C,0^FR^FH^FDREPRINT {c['number'] - 1}^FS")
    return z.done()


def bag_labels(contexts, width_in=4, height_in=4):
    return "".join(bag_label(c, width_in, height_in) for c in contexts)
