-- migration: room on deal pages for updates
-- Every command rewrites its deal's row. With room left on the page, a rewrite that changes no
-- indexed column (most: the state stays PERFORMING through milestones) is a HOT update, which
-- touches none of the six indexes; full pages made about 40 % of them index every new version.
ALTER TABLE deals SET (fillfactor = 75);
