-- Transit time (left the origin to reached the destination) per lane over completed trips.
select
  lane,
  count(*) as trips,
  percentile_cont(0.5) within group (order by transit_min) as transit_p50_min,
  percentile_cont(0.9) within group (order by transit_min) as transit_p90_min,
  avg(transit_min) as transit_mean_min
from {{ ref('fct_trips') }}
where transit_min is not null
group by lane
