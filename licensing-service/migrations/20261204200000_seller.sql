-- Issue 18: what a buyer needs from a product besides its key: where the
-- product lives, where to download it, and what to do with the key.
-- (The seller's own contact, support and terms are one JSON setting,
-- `seller_identity`, in the settings table.)
ALTER TABLE products ADD COLUMN homepage_url TEXT;
ALTER TABLE products ADD COLUMN download_url TEXT;
ALTER TABLE products ADD COLUMN key_instructions TEXT;
