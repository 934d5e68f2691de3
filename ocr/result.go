package ocr

import "time"

// Word is one recognised word with its box in the pixel coordinates of the
// normalised page image (after rotation and deskew), origin top left.
type Word struct {
	Text       string  `json:"text"`
	Confidence float64 `json:"conf"` // 0..100, as Tesseract reports it
	X0         int     `json:"x0"`
	Y0         int     `json:"y0"`
	X1         int     `json:"x1"`
	Y1         int     `json:"y1"`
	Block      int     `json:"block"`
	Par        int     `json:"par"`
	Line       int     `json:"line"` // numbered from 1 within its paragraph; Par from 1 within its block
}

// Result is what OCR of one page produced. It is stored as JSON beside the
// page image, so its field names are part of the storage format.
type Result struct {
	Text           string        `json:"text"`
	Words          []Word        `json:"words"`
	MeanConfidence float64       `json:"mean_conf"` // mean of word confidences, 0..100; 0 with no words
	Rotation       int           `json:"rotation"`  // degrees clockwise applied before OCR: 0, 90, 180 or 270
	Skew           float64       `json:"skew"`      // degrees of deskew applied before OCR, clockwise positive like Rotation; 0 if under 0.3
	Width          int           `json:"width"`     // of the normalised image, pixels
	Height         int           `json:"height"`
	DPI            int           `json:"dpi"`
	ReadDPI        int           `json:"read_dpi,omitempty"` // the resolution Tesseract read the page at (see Options.ReadDPI); 0 for a blank page
	Blank          bool          `json:"blank"`              // the page had (almost) no ink
	OSDUsed        bool          `json:"osd_used"`           // orientation detection had to run
	Duration       time.Duration `json:"duration_ns"`
}
