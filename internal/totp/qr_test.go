package totp

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testURI is a fixed provisioning URI (the RFC 6238 seed) for the QR tests.
func testURI(tb testing.TB) string {
	tb.Helper()
	uri, err := URI("Latchkey", "alice@example.com", seedSHA1)
	if err != nil {
		tb.Fatal(err)
	}
	return uri
}

// decodePNG decodes p and returns the image.
func decodePNG(tb testing.TB, p []byte) image.Image {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(p))
	if err != nil {
		tb.Fatalf("png.Decode: %v", err)
	}
	return img
}

func isWhite(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r == 0xffff && g == 0xffff && b == 0xffff
}

func TestQRPNG_Zbarimg(t *testing.T) {
	zbarimg := needTool(t, "zbarimg", "zbar-tools")
	uris := []string{
		testURI(t),
		"otpauth://totp/ACME%20Co:john%20doe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co",
	}
	for i, uri := range uris {
		for _, size := range []int{3, 6} {
			t.Run(fmt.Sprintf("%d/%d", i, size), func(t *testing.T) {
				p, err := QRPNG(uri, size)
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(t.TempDir(), "qr.png")
				if err := os.WriteFile(file, p, 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(zbarimg, "--raw", "-q", file).Output()
				if err != nil {
					t.Fatalf("zbarimg: %v", err)
				}
				if got := strings.TrimRight(string(out), "\n"); got != uri {
					t.Errorf("got %s, want %s", got, uri)
				}
			})
		}
	}
}

func TestQRPNG_QuietZone(t *testing.T) {
	uri := testURI(t)
	for _, size := range []int{1, 6} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			p, err := QRPNG(uri, size)
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, p)
			b := img.Bounds()
			if b.Dx() != b.Dy() {
				t.Fatalf("got %dx%d, want a square", b.Dx(), b.Dy())
			}
			modules := b.Dx() / size
			// A QR symbol is 21+4k modules wide; plus 2×4 of quiet zone.
			if b.Dx()%size != 0 || (modules-2*quietZone-21)%4 != 0 {
				t.Fatalf("got side %d px at %d px per module, want (21+4k+8)×%d", b.Dx(), size, size)
			}
			zone := quietZone * size
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					inZone := x < zone || y < zone || x >= b.Dx()-zone || y >= b.Dy()-zone
					if inZone && !isWhite(img, x, y) {
						t.Fatalf("got a dark pixel at (%d, %d), want the %d px quiet zone white", x, y, zone)
					}
				}
			}
			// The top-left finder pattern starts right after the quiet zone.
			if isWhite(img, zone, zone) || isWhite(img, zone+size-1, zone+size-1) {
				t.Errorf("got white at (%d, %d), want the finder pattern's dark corner module", zone, zone)
			}
		})
	}
}

func TestQRPNG_Errors(t *testing.T) {
	uri := testURI(t)
	tests := []struct {
		name string
		uri  string
		size int
	}{
		{"ErrZeroModuleSize", uri, 0},
		{"ErrNegativeModuleSize", uri, -1},
		{"ErrHugeModuleSize", uri, maxModuleSize + 1},
		{"ErrTooLong", strings.Repeat("x", 5000), 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := QRPNG(tc.uri, tc.size); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}

// TestQRSVG_Golden compares QRSVG with testdata/qr.svg. Run
// `go test -run QRSVG -update` to rewrite it after an intended change.
func TestQRSVG_Golden(t *testing.T) {
	got, err := QRSVG(testURI(t))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "qr.svg")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestQRSVG_Structure parses the SVG and draws its path back into a module
// grid, which must equal the PNG's modules (zbarimg cannot read SVG).
func TestQRSVG_Structure(t *testing.T) {
	uri := testURI(t)
	svg, err := QRSVG(uri)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName        xml.Name `xml:"http://www.w3.org/2000/svg svg"`
		ViewBox        string   `xml:"viewBox,attr"`
		ShapeRendering string   `xml:"shape-rendering,attr"`
		Paths          []struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
		Other []xml.Name `xml:",any"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("xml.Unmarshal: %v", err)
	}
	if len(doc.Paths) != 1 || len(doc.Other) != 0 {
		t.Fatalf("got %d paths and %d other elements, want one path only", len(doc.Paths), len(doc.Other))
	}
	if doc.ShapeRendering != "crispEdges" {
		t.Errorf("got shape-rendering %q, want crispEdges", doc.ShapeRendering)
	}
	var side int
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &side, new(int)); err != nil {
		t.Fatalf("got viewBox %q: %v", doc.ViewBox, err)
	}

	grid := make([][]bool, side)
	for i := range grid {
		grid[i] = make([]bool, side)
	}
	for _, sub := range strings.Split(strings.TrimSuffix(doc.Paths[0].D, "z"), "z") {
		var x, y, w, w2 int
		if _, err := fmt.Sscanf(sub, "M%d %dh%dv1h-%d", &x, &y, &w, &w2); err != nil || w != w2 {
			t.Fatalf("got subpath %q, want M x y h w v1 h -w", sub)
		}
		for i := x; i < x+w; i++ {
			grid[y][i] = true
		}
	}

	p, err := QRPNG(uri, 1)
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, p)
	if img.Bounds().Dx() != side {
		t.Fatalf("got viewBox side %d, want %d (the PNG at 1 px per module)", side, img.Bounds().Dx())
	}
	for y := range side {
		for x := range side {
			if grid[y][x] == isWhite(img, x, y) {
				t.Fatalf("module (%d, %d): got dark=%v in the SVG, want %v", x, y, grid[y][x], !isWhite(img, x, y))
			}
		}
	}
}

func BenchmarkQRPNG(b *testing.B) {
	uri := testURI(b)
	var n int
	for b.Loop() {
		p, err := QRPNG(uri, 6)
		if err != nil {
			b.Fatal(err)
		}
		n = len(p)
	}
	b.ReportMetric(float64(n), "png-bytes")
}

func BenchmarkQRSVG(b *testing.B) {
	uri := testURI(b)
	for b.Loop() {
		if _, err := QRSVG(uri); err != nil {
			b.Fatal(err)
		}
	}
}
