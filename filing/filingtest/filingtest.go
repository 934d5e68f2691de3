// Package filingtest builds batches as the OCR stage leaves them, with the
// text of each page given, so that the filing stage and the review API can
// be tested on fixed inputs without running OCR.
package filingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"strings"
	"testing"

	"paperchart/filing"
	"paperchart/internal/testenv"
	"paperchart/ocr"
	"paperchart/patients"
	"paperchart/sheets"
	"paperchart/storage"
)

// Index is a small patient index for tests: twins (same family name, birth
// date and address), a father and son of the same name, and others.
const Index = `mrn,family,given,birth_date,sex,address,city,postal_code,phone
00410001,HARTMANN,ELISE,1961-04-12,female,12 Oak St,Springfield,62701,217-555-0101
00410002,OKAFOR,DANIEL,1979-11-03,male,9 Elm Ave,Springfield,62702,217-555-0102
00410003,NGUYEN,LINH,1990-02-27,female,77 Pine Rd,Chatham,62629,217-555-0103
00410004,NGUYEN,MAI,1990-02-27,female,77 Pine Rd,Chatham,62629,217-555-0103
00410005,BRENNAN,PATRICK,1950-06-30,male,5 Lake Dr,Rochester,62563,217-555-0105
00410006,BRENNAN,PATRICK,1982-09-14,male,5 Lake Dr,Rochester,62563,217-555-0106
00410007,,WREN,1955-05-05,female,,,,
`

// Page is one page of a test batch: text, or a sheet.
type Page struct {
	Text  string
	Blank bool
	Cover string // a cover sheet naming this MRN
	Type  string // the cover sheet's type
	Sep   bool   // a separator sheet
}

// jpegPage is a small blank page image, as the OCR stage stores.
func jpegPage(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 85, 110))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.Set(10, 10, color.Gray{0})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Batch records a batch of the given pages, as the OCR stage leaves it,
// and moves it to filing, as assembly leaves it.
func Batch(t testing.TB, db *storage.DB, obj *storage.Objects, name string, pages []Page) int64 {
	t.Helper()
	id := OCRed(t, db, obj, name, pages)
	ok, err := db.Assembled(context.Background(), id, storage.SearchableKey(id))
	if err != nil || !ok {
		t.Fatalf("move batch to filing: %v %v", ok, err)
	}
	return id
}

// OCRed records a batch of the given pages as the OCR stage leaves it:
// each page's image and OCR result stored, the batch waiting for assembly.
func OCRed(t testing.TB, db *storage.DB, obj *storage.Objects, name string, pages []Page) int64 {
	t.Helper()
	ctx := context.Background()
	sha := fmt.Sprintf("%064x", len(name)*7919+int(name[0]))
	b, _, err := db.RecordBatch(ctx, storage.NewBatch{Source: "test", Name: name, IngestKey: name, SHA256: sha + name, Size: 1, OriginalKey: storage.OriginalKey(sha + name)})
	testenv.Must(t, err, "record batch")
	_, err = db.StartSplit(ctx, b.ID)
	testenv.Must(t, err, "start split")
	var nps []storage.NewPage
	for i := range pages {
		nps = append(nps, storage.NewPage{No: i + 1, SourceKey: storage.PageSourceKey(b.ID, i+1, ".jpg"), Kind: "image"})
	}
	testenv.Must(t, db.AddPages(ctx, b.ID, "pdf", nps), "add pages")
	img := jpegPage(t)
	for i, p := range pages {
		key := storage.PageImageKey(b.ID, i+1)
		testenv.Must(t, obj.Put(ctx, key, img, "image/jpeg"), "store page")
		r := storage.PageResult{BatchID: b.ID, No: i + 1, ImageKey: key, Text: p.Text, Blank: p.Blank, DPI: 10, Width: 85, Height: 110}
		switch {
		case p.Cover != "":
			payload, err := sheets.CoverPayload("", p.Cover, p.Type)
			testenv.Must(t, err, "cover payload")
			r.Kind, r.Text = storage.PageKindCover, ""
			r.Barcodes = []storage.Barcode{{Format: string(sheets.QRCode), Text: payload}}
		case p.Sep:
			r.Kind, r.Text = storage.PageKindSeparator, ""
			r.Barcodes = []storage.Barcode{{Format: string(sheets.Code128), Text: sheets.DefaultSeparator}}
		}
		res := ocrResult(r.Text, r.Blank, r.DPI, r.Width, r.Height)
		js, err := json.Marshal(res)
		testenv.Must(t, err, "encode OCR result")
		r.OCRKey = storage.PageOCRKey(b.ID, i+1)
		testenv.Must(t, obj.Put(ctx, r.OCRKey, js, "application/json"), "store OCR result")
		r.WordCount = len(res.Words)
		_, err = db.CompletePage(ctx, r)
		testenv.Must(t, err, "complete page")
	}
	return b.ID
}

// ocrResult is an OCR result of a page with this text: one word box per
// word, a line of the text per line of boxes, inside the page image.
func ocrResult(text string, blank bool, dpi, width, height int) ocr.Result {
	res := ocr.Result{Text: text, Blank: blank, DPI: dpi, Width: width, Height: height}
	for li, line := range strings.Split(text, "\n") {
		x, y := 1, 1+(li*3)%(height-3)
		for _, word := range strings.Fields(line) {
			w := min(len(word), 8)
			if x+w >= width {
				x = 1
			}
			res.Words = append(res.Words, ocr.Word{Text: word, Confidence: 90, X0: x, Y0: y, X1: x + w, Y1: y + 2,
				Block: 1, Par: 1, Line: li + 1})
			x += w + 1
		}
	}
	if len(res.Words) > 0 {
		res.MeanConfidence = 90
	}
	return res
}

func header(title, name, mrn, dob string) string {
	return fmt.Sprintf("SPRINGFIELD MEMORIAL HOSPITAL\n1200 North Main Street, Springfield IL\n%s\nPatient: %s\nMRN: %s\nDOB: %s\nDate of Service: 03/14/2024\n", title, name, mrn, dob)
}

// Page texts: documents of patients of Index (Stranger is not in it;
// WrongPile is a consultation of OKAFOR, the cover-sheet-on-the-wrong-pile case).
var (
	Discharge = header("DISCHARGE SUMMARY", "HARTMANN, ELISE", "00410001", "04/12/1961") +
		"Admission Date: 03/10/2024 Discharge Date: 03/14/2024\nAdmitting Diagnosis: community acquired pneumonia\n" +
		"Hospital Course: The patient was admitted with fever and productive cough. Chest radiograph showed right lower lobe consolidation.\n" +
		"She was treated with intravenous ceftriaxone and azithromycin and improved steadily.\nDischarge Medications: amoxicillin 875 mg twice daily for five days.\n" +
		"Discharge Condition: stable. Follow-up: primary care in one week.\nPage 1 of 1\n"
	Lab = header("LABORATORY REPORT", "OKAFOR, DANIEL", "00410002", "11/03/1979") +
		"Specimen: blood Collected: 03/14/2024 08:15\nTest Result Units Reference Range\nSodium 139 mmol/L 135-145\nPotassium 4.1 mmol/L 3.5-5.1\n" +
		"Chloride 101 mmol/L 98-107\nGlucose 96 mg/dL 70-99\nCreatinine 0.9 mg/dL 0.7-1.3\nHemoglobin 14.2 g/dL 13.5-17.5\nWhite blood cells 6.8 10^3/uL 4.5-11.0\n" +
		"Verified by: laboratory medical director\nPage 1 of 1\n"
	ProgressTwin = header("PROGRESS NOTE", "NGUYEN, MAI", "", "02/27/1990") +
		"Subjective: The patient reports improved sleep and less fatigue since the last visit.\nObjective: Blood pressure 118/76, pulse 72, afebrile.\n" +
		"Assessment: iron deficiency anemia, improving on oral iron.\nPlan: continue ferrous sulfate, repeat complete blood count in six weeks.\nPage 1 of 1\n"
	Consult = "CONSULTATION NOTE\nReason for consultation: evaluation of chest pain.\nHistory of present illness: intermittent substernal chest pressure on exertion for two weeks.\n" +
		"Impression: stable angina. Recommendations: stress echocardiogram, start aspirin and a statin.\nThank you for this consultation.\n"
	Stranger = header("PROGRESS NOTE", "ZIMMERMANN, OTTO", "00999999", "01/01/1944") +
		"Subjective: follow-up of hypertension. Objective: blood pressure 142/88. Assessment: hypertension not at goal. Plan: increase lisinopril.\nPage 1 of 1\n"
	WrongPile = header("CONSULTATION NOTE", "OKAFOR, DANIEL", "00410002", "11/03/1979") + Consult
	// NoFamily is a document of 00410007, whose index record has no family
	// name (real master patient indexes have such records).
	NoFamily = header("LABORATORY REPORT", "KOWALSKI, WREN", "00410007", "05/05/1955") +
		"Specimen: blood Collected: 03/14/2024 08:15\nSodium 139 mmol/L 135-145\nPotassium 4.1 mmol/L 3.5-5.1\nPage 1 of 1\n"
	// VagueType is a note of HARTMANN, ELISE (00410001) whose type no
	// classifier can be sure of.
	VagueType = "SPRINGFIELD MEMORIAL HOSPITAL\nPatient: HARTMANN, ELISE\nMRN: 00410001\nDOB: 04/12/1961\n" +
		"Notes: the patient called about the results. Will discuss at next visit.\n"
	// Namesake is a person with the name and birth date of HARTMANN, ELISE
	// (00410001) who prints another MRN, one that is not in the index.
	Namesake = header("DISCHARGE SUMMARY", "HARTMANN, ELISE", "77120945", "04/12/1961") +
		"Hospital Course: admitted for elective knee replacement, uneventful recovery.\nDischarge Condition: stable.\nPage 1 of 1\n"
	// OthersMRN prints HARTMANN, ELISE's name and birth date with the MRN
	// of OKAFOR, DANIEL (00410002).
	OthersMRN = header("DISCHARGE SUMMARY", "HARTMANN, ELISE", "00410002", "04/12/1961") +
		"Hospital Course: admitted for elective knee replacement, uneventful recovery.\nDischarge Condition: stable.\nPage 1 of 1\n"
)

// Setup is what most tests of the filing stage and what sits on it need:
// a database and bucket of the test's own, the patient index loaded with
// Index, and a Filer, logging to log (nil: nowhere).
type Setup struct {
	DB      *storage.DB
	Objects *storage.Objects
	Index   *patients.Index
	Filer   *filing.Filer
}

// New makes a Setup.
func New(t testing.TB, log *slog.Logger) Setup {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := Setup{DB: testenv.DB(t), Objects: testenv.Objects(t)}
	s.Index = patients.New(s.DB.Pool(), patients.Options{Log: log})
	_, err := s.Index.Import(context.Background(), strings.NewReader(Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import the test patient index")
	s.Filer, err = filing.New(s.DB, s.Objects, filing.Config{}, log)
	testenv.Must(t, err, "filer")
	return s
}
