-- Dwell (arrival to departure) per facility over completed visits: median, 90th percentile, mean.
select
  facility,
  count(*) as visits,
  percentile_cont(0.5) within group (order by dwell_min) as dwell_p50_min,
  percentile_cont(0.9) within group (order by dwell_min) as dwell_p90_min,
  avg(dwell_min) as dwell_mean_min
from {{ ref('fct_stop_visits') }}
where dwell_min is not null
group by facility
