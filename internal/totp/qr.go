package totp

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// quietZone is the blank margin around a QR code, in modules. ISO/IEC 18004
// requires 4; qr.Encode adds none, and scanners often fail without it.
const quietZone = 4

// maxModuleSize bounds QRPNG's moduleSize, so a bad argument cannot make a
// huge image.
const maxModuleSize = 64

// encodeQR returns the QR symbol for uri with error correction level M (15 %
// of the codewords may be damaged), the level pquerna/otp and most
// authenticator setup pages use.
func encodeQR(uri string) (barcode.Barcode, int, error) {
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, 0, fmt.Errorf("totp: encode qr: %w", err)
	}
	// qr.Encode draws one pixel per module.
	return code, code.Bounds().Dx(), nil
}

// dark reports whether the module at (x, y) of code is dark.
func dark(code barcode.Barcode, x, y int) bool {
	r, _, _, _ := code.At(x, y).RGBA()
	return r < 0x8000
}

// QRPNG returns uri as a black-on-white QR code in PNG format with error
// correction M, a 4-module white quiet zone on every side, and each module
// drawn as moduleSize × moduleSize pixels (1..64; callers use 6).
func QRPNG(uri string, moduleSize int) ([]byte, error) {
	if moduleSize < 1 || moduleSize > maxModuleSize {
		return nil, fmt.Errorf("totp: qr module size must be 1..%d", maxModuleSize)
	}
	code, n, err := encodeQR(uri)
	if err != nil {
		return nil, err
	}
	side := (n + 2*quietZone) * moduleSize
	// A two-colour palette makes the encoder write a 1-bit PNG.
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if !dark(code, x, y) {
				continue
			}
			x0 := (x + quietZone) * moduleSize
			y0 := (y + quietZone) * moduleSize
			for py := y0; py < y0+moduleSize; py++ {
				row := img.Pix[py*img.Stride+x0 : py*img.Stride+x0+moduleSize]
				for i := range row {
					row[i] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// QRSVG returns uri as a QR code in one <svg> element holding one <path>,
// with error correction M. The viewBox is in modules and includes the
// 4-module quiet zone, so the image scales to any size; set its size with
// CSS. Dark modules are filled black; the rest, quiet zone included, is
// transparent, so place it on a white background. shape-rendering is
// crispEdges so that modules do not blur at fractional sizes.
func QRSVG(uri string) ([]byte, error) {
	code, n, err := encodeQR(uri)
	if err != nil {
		return nil, err
	}
	side := strconv.Itoa(n + 2*quietZone)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + side + ` ` + side +
		`" shape-rendering="crispEdges"><path fill="#000" d="`)
	// One horizontal run of dark modules per subpath: "M x y h w v 1 h -w z".
	for y := range n {
		for x := 0; x < n; {
			if !dark(code, x, y) {
				x++
				continue
			}
			start := x
			for x < n && dark(code, x, y) {
				x++
			}
			w := strconv.Itoa(x - start)
			b.WriteString("M" + strconv.Itoa(start+quietZone) + " " + strconv.Itoa(y+quietZone) +
				"h" + w + "v1h-" + w + "z")
		}
	}
	b.WriteString(`"/></svg>` + "\n")
	return b.Bytes(), nil
}
