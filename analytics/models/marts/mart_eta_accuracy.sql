-- ETA accuracy by horizon, model versus baseline: samples, mean absolute error, bias (mean
-- signed error) and the share within ±tolerance. The figures of GET /v1/analytics/eta-accuracy.
select
  horizon_min,
  source,
  count(*) as samples,
  avg(abs_error_min) as mae_min,
  avg(error_min) as bias_min,
  sum(case when within_tolerance then 1 else 0 end) * 1.0 / count(*) as within_tolerance_share
from {{ ref('fct_eta_errors') }}
group by horizon_min, source
