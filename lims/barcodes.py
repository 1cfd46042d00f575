"""What a label's QR code says and how a scan is read back (SPEC §3).

Payload, version 1:  MSC1:<DIN><check character>:<product code>:<bag division>
e.g.  MSC1:W1234260001233:S1234:B001  names bag W123426000123-S1234-B001.
The DIN travels with its check character so a mis-read or forged DIN is refused at every scan.
"""
import re

from lims.lots import isbt

PREFIX = "MSC1"
_BAG_CODE = re.compile(r"^([A-Z][0-9A-Z]{4}[0-9]{8})-([A-Z0-9]{2,16})-(B[0-9]{3})$")
_PAYLOAD = re.compile(r"^MSC1:([0-9A-Z*]{14}):([A-Z0-9]{2,16}):(B[0-9]{3})$")


class ScanError(ValueError):
    pass


def bag_code(din, product_code, division):
    return f"{din}-{product_code}-{division}"


def bag_payload(din, check, product_code, division):
    return f"{PREFIX}:{din}{check}:{product_code}:{division}"


def bag_code_from_scan(text):
    """The bag code a scan names: the QR payload verbatim or the bare bag code. Raises ScanError (422)."""
    if not isinstance(text, str):
        raise ScanError("a bag scan is the label's QR text")
    text = text.strip()
    match = _PAYLOAD.match(text)
    if match:
        checked, product, division = match.groups()
        try:
            din = isbt.split_checked(checked)
        except isbt.DinError as e:
            raise ScanError(str(e)) from None
        return bag_code(din, product, division)
    if _BAG_CODE.match(text):
        return text
    raise ScanError("not a bag label: scan the QR code on the bag")


# The ISBT 128 product description code: a letter and four characters (e.g. S1234 for a cellular therapy product).
_ISBT_PRODUCT_CODE = re.compile(r"^[A-Z][A-Z0-9]{4}$")


def product_code_data(product_code, donation_type="V", division="00"):
    """The ISBT 128 product code data structure (SPEC §9): '=<', the 5-character product description code, the type
    of donation (V: volunteer allogeneic) and the 2-character division: '=<S1234V00'. None for a product whose code is
    not an ISBT 128 product description code (codes of 2 to 16 characters are accepted for products): such a label
    carries no product-code symbol rather than one a hospital's scanner would misread."""
    if not _ISBT_PRODUCT_CODE.match(product_code or ""):
        return None
    if not re.fullmatch(r"[A-Z0-9]", donation_type or "") or not re.fullmatch(r"[A-Z0-9]{2}", division or ""):
        raise ValueError(f"not an ISBT 128 donation type and division: {donation_type!r}, {division!r}")
    return f"=<{product_code}{donation_type}{division}"
