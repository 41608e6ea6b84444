-- Who submitted a request, as a keyed hash of the client address (never the address): the hourly
-- cap counts per identifier and address, so one party's submissions for someone else's number can
-- no longer use up that person's own requests; a higher ceiling bounds messages from every address.
ALTER TABLE privacy_request ADD COLUMN submitter_digest TEXT;
