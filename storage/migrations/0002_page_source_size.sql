-- The size of a page source as split: pixels for an image, points for a
-- one-page PDF. Rendering needs it to cap the resolution of huge pages.
ALTER TABLE pages ADD COLUMN source_width  real NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN source_height real NOT NULL DEFAULT 0;
