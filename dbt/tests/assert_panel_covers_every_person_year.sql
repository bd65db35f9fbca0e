-- The panel is built in yearly batches (microbatch, from var panel_first_batch): every year of the
-- skeleton must arrive whole. Returns the years whose row counts differ (e.g. a register year
-- before panel_first_batch, or a batch that was skipped).
with skeleton as (
    select year, count(*) as n from {{ ref('int_person_years') }} group by year
),
panel as (
    select year, count(*) as n from {{ ref('fct_person_year') }} group by year
)
select coalesce(s.year, p.year) as year, s.n as skeleton_rows, p.n as panel_rows
from skeleton as s
full outer join panel as p on p.year = s.year
where coalesce(s.n, -1) <> coalesce(p.n, -1)
