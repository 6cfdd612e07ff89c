"""Render a WhatsApp Web QR payload as a PNG data URI (qrcode + pure-Python PNG).

The state item stores only the payload; the image is made on read and cached per payload,
so a warm Lambda renders each code once however often the portal polls.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache


@lru_cache(maxsize=128)
def data_uri(payload: str) -> str:
    """``data:image/png;base64,...`` of a QR code carrying ``payload``."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_L
    from qrcode.image.pure import PyPNGImage

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_L, box_size=6, border=4)
    code.add_data(payload)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(image_factory=PyPNGImage).save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
