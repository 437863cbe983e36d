-- The accuracy mart is the facts summed: samples per horizon and source add up to the fact rows.
select m.horizon_min, m.source, m.samples, f.n
from {{ ref('mart_eta_accuracy') }} m
join (select horizon_min, source, count(*) as n from {{ ref('fct_eta_errors') }} group by horizon_min, source) f
  on f.horizon_min = m.horizon_min and f.source = m.source
where m.samples <> f.n
