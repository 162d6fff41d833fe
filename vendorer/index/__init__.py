"""Package indexes: the models (`models`, no HTTP client), page parsing (`pages`), core metadata
(`metadata`), the verified file store (`store`), the one HTTP transport (`transport`, shared
with the Kudu client), credentials (`auth`, `keyring`), the page cache (`pagecache`), the index
client (`client`) and the finder (`finder`)."""
