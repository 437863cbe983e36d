{#- Staging reads the exports on DuckDB and the live tables elsewhere. The two derived tables
    (stop visits, predictions with their errors) are built here from the live tables the way
    db/repositories/exports.ts builds them for the files. -#}

{% macro export_relation(table) -%}
  {%- if target.type == 'duckdb' -%}
    {{ source('exports', table) }}
  {%- elif table == 'stop_visits' -%}
    ({{ app_stop_visits() }}) as app_stop_visits
  {%- elif table == 'eta_predictions' -%}
    ({{ app_eta_predictions() }}) as app_eta_predictions
  {%- else -%}
    {{ source('app', table) }}
  {%- endif -%}
{%- endmacro %}

{% macro app_stop_visits() -%}
  select s.tenant_id, s.id as shipment_id, st.sequence as stop_sequence, s.reference, s.status as shipment_status,
         s.created_at as shipment_created_at, s.carrier_id, c.name as carrier_name, st.type as stop_type,
         n.stop_count, st.name as facility, st.lat, st.lon, st.window_start, st.window_end, st.planned_dwell_min,
         st.status as stop_status, st.arrived_at, st.departed_at,
         {{ dbt.datediff('st.arrived_at', 'st.departed_at', 'second') }} / 60.0 as dwell_min,
         case when st.arrived_at is null or st.window_end is null then null else st.arrived_at <= st.window_end end as on_time,
         {{ dbt.datediff('st.window_end', 'st.arrived_at', 'second') }} / 60.0 as lateness_min,
         s.updated_at
  from {{ source('app', 'shipments') }} s
  join {{ source('app', 'stops') }} st on st.shipment_id = s.id
  join (select shipment_id, count(*) as stop_count from {{ source('app', 'stops') }} group by shipment_id) n on n.shipment_id = s.id
  left join {{ source('app', 'carriers') }} c on cast(c.id as varchar) = s.carrier_id and c.tenant_id = s.tenant_id
{%- endmacro %}

{% macro app_eta_predictions() -%}
  select p.tenant_id, p.id, p.shipment_id, p.stop_sequence, p.source, p.model, p.predicted_at, p.predicted_arrival,
         p.horizon_min, p.speed_kmh, p.created_at, st.arrived_at as actual_arrival,
         {{ dbt.datediff('p.predicted_at', 'st.arrived_at', 'second') }} / 60.0 as lead_min,
         {{ dbt.datediff('st.arrived_at', 'p.predicted_arrival', 'second') }} / 60.0 as error_min
  from {{ source('app', 'eta_predictions') }} p
  left join {{ source('app', 'stops') }} st on st.shipment_id = p.shipment_id and st.sequence = p.stop_sequence
{%- endmacro %}
