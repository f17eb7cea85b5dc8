/*
 * A QR code drawn as inline SVG (issue 16: the TOTP enrolment's otpauth://
 * URI). libqrencode makes the matrix (error correction level M); we draw
 * it as one <path> of rectangles, a run of dark modules per rectangle, on
 * a white background with the 4-module quiet zone the standard asks for.
 * No script, no style attribute, no external image: it fits the strict
 * CSP (default-src 'self') and needs no extra request, so the secret in
 * the URI stays inside the one no-store page.
 */
#include <errno.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>

#include "web/web.h"

#define QUIET 4		 /* modules of white border (ISO/IEC 18004) */
#define QR_TEXT_MAX 1024 /* an otpauth:// URI is far shorter */

int
web_qr_svg(struct buf *b, const char *text, const char *label)
{
	QRcode *q;
	int w, size;

	if (text == NULL || text[0] == '\0' ||
	    strnlen(text, QR_TEXT_MAX + 1) > QR_TEXT_MAX)
		return PC_ERR_INVALID;
	q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (q == NULL)
		return errno == ERANGE ? PC_ERR_TOO_LARGE : PC_ERR_INTERNAL;
	w = q->width;
	size = w + 2 * QUIET;
	page_printf(b,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"",
	    size, size, size * 5, size * 5);
	page_text(b, label != NULL ? label : "QR code");
	page_printf(b,
	    "\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"",
	    size, size);
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w;) {
			int run = 0;

			/* Bit 0 of each module: dark. */
			while (x + run < w && (q->data[y * w + x + run] & 1))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			page_printf(b, "M%d %dh%dv1h-%dz", x + QUIET, y + QUIET,
			    run, run);
			x += run;
		}
	}
	page_puts(b, "\"/></svg>\n");
	/* The matrix encodes the secret: wiped before it goes. */
	sodium_memzero(q->data, (size_t)w * (size_t)w);
	QRcode_free(q);
	return 0;
}
