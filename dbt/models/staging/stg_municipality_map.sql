-- Lookup from any municipality code, valid in a given year, to a code on the borders of
-- 1 January 2013 (study A §2.5, Appendix D). Built from the seeds:
--   * every 2013 code maps to itself;
--   * an older code follows municipality_changes forward (old_code -> new_code, up to 4 steps)
--     until it reaches a 2013 code; the row is valid up to the year of the change's valid_to;
--   * a code created after 2013 (mergers/renumbering) maps back to the 2013 code it came from; if
--     it came from several 2013 municipalities (a merger) it maps to the one with the largest
--     population share in 2013 and is flagged is_approximate (2013 borders cannot be restored).
-- Grain: municipality_code x validity window; windows do not overlap (tested).
with m2013 as (
    select cast(municipality_code as {{ dbt.type_string() }}) as code,
           cast(pop_share_2013 as {{ type_double() }}) as pop_share_2013
    from {{ ref('municipalities_2013') }}
),
changes as (
    select cast(old_code as {{ dbt.type_string() }}) as old_code,
           cast(new_code as {{ dbt.type_string() }}) as new_code,
           cast({{ date_part_int('year', 'cast(valid_to as date)') }} as {{ dbt.type_int() }}) as valid_to_year
    from {{ ref('municipality_changes') }}
    where old_code is not null and new_code is not null and old_code <> new_code
),
-- forward chains from pre-2013 codes
fwd as (
    select c1.old_code,
           c1.valid_to_year,
           case when c1.new_code in (select m2013.code from m2013) then c1.new_code
                when c2.new_code in (select m2013.code from m2013) then c2.new_code
                when c3.new_code in (select m2013.code from m2013) then c3.new_code
                when c4.new_code in (select m2013.code from m2013) then c4.new_code
           end as municipality_2013
    from changes as c1
    left join changes as c2 on c2.old_code = c1.new_code and c2.valid_to_year >= c1.valid_to_year
    left join changes as c3 on c3.old_code = c2.new_code and c3.valid_to_year >= c2.valid_to_year
    left join changes as c4 on c4.old_code = c3.new_code and c4.valid_to_year >= c3.valid_to_year
    where c1.old_code not in (select m2013.code from m2013) and c1.valid_to_year <= 2013
),
fwd_dedup as (
    select old_code, municipality_2013, valid_to_year,
           row_number() over (partition by old_code order by valid_to_year desc nulls last,
                              municipality_2013 asc nulls last) as rn
    from fwd where municipality_2013 is not null
),
-- backward: codes created after 2013 from 2013 codes (possibly via intermediate codes)
bwd as (
    select c2.new_code as code, c1.old_code as municipality_2013, c1.valid_to_year
    from changes as c1
    inner join changes as c2 on c2.old_code = c1.new_code and c2.valid_to_year > c1.valid_to_year
    where c1.old_code in (select m2013.code from m2013) and c1.valid_to_year >= 2013
      and c2.new_code not in (select m2013.code from m2013)
    union all
    select c1.new_code as code, c1.old_code as municipality_2013, c1.valid_to_year
    from changes as c1
    where c1.old_code in (select m2013.code from m2013) and c1.valid_to_year >= 2013
      and c1.new_code not in (select m2013.code from m2013)
),
bwd_ranked as (
    select b.code, b.municipality_2013, min(b.valid_to_year) as from_year_minus_1,
           count(*) over (partition by b.code) as n_sources,
           row_number() over (partition by b.code order by max(m.pop_share_2013) desc nulls last,
                              b.municipality_2013 asc nulls last) as rn
    from bwd as b inner join m2013 as m on m.code = b.municipality_2013
    group by b.code, b.municipality_2013
)
select code as municipality_code, cast(1800 as {{ dbt.type_int() }}) as valid_from_year,
       cast(2200 as {{ dbt.type_int() }}) as valid_to_year, code as municipality_2013,
       cast(false as boolean) as is_approximate
from m2013
union all
select old_code, cast(1800 as {{ dbt.type_int() }}), cast(valid_to_year as {{ dbt.type_int() }}),
       municipality_2013, cast(false as boolean)
from fwd_dedup where rn = 1
union all
select code, cast(from_year_minus_1 as {{ dbt.type_int() }}), cast(2200 as {{ dbt.type_int() }}),
       municipality_2013, cast(n_sources > 1 as boolean)
from bwd_ranked where rn = 1 and code not in (select m2013.code from m2013)
