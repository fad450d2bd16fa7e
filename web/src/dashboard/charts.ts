// The dashboard's charts (Apache ECharts, only the parts used, so the bundle
// stays small). Each chart owns its element and resizes with it.

import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export const PALETTE = ['#38bdf8', '#a78bfa', '#34d399', '#fbbf24', '#f472b6', '#60a5fa', '#f87171', '#2dd4bf', '#facc15', '#c084fc'];

const AXIS = {
  axisLine: { lineStyle: { color: '#29476b' } },
  axisLabel: { color: '#9fb6d3', fontSize: 11 },
  splitLine: { lineStyle: { color: '#15304f' } },
};

const TOOLTIP = {
  backgroundColor: 'rgba(8, 20, 38, 0.95)',
  borderColor: '#2a5583',
  textStyle: { color: '#e2ecf8', fontSize: 12 },
};

export class Chart {
  private chart: echarts.ECharts;
  private observer: ResizeObserver;

  constructor(readonly element: HTMLElement) {
    this.chart = echarts.init(element, undefined, { renderer: 'canvas' });
    this.observer = new ResizeObserver(() => this.chart.resize());
    this.observer.observe(element);
  }

  set(option: EChartsCoreOption): void {
    // A panel shown again (another topic) may not have told the chart its new
    // size yet: take it now, so it is not drawn at the old size and then grown.
    if (this.chart.getWidth() !== this.element.clientWidth || this.chart.getHeight() !== this.element.clientHeight) this.chart.resize({ animation: { duration: 0 } });
    this.chart.setOption({ backgroundColor: 'transparent', color: PALETTE, tooltip: TOOLTIP, textStyle: { fontFamily: 'inherit' }, ...option }, true);
  }

  onClick(handler: (params: { dataIndex: number; name: string; seriesIndex?: number }) => void): void {
    this.chart.on('click', (params) => handler(params as unknown as { dataIndex: number; name: string }));
  }

  dispose(): void {
    this.observer.disconnect();
    this.chart.dispose();
  }
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Horizontal bars, largest on top. */
export function barOption(labels: string[], values: number[], colour = PALETTE[0]): EChartsCoreOption {
  return {
    grid: { left: 8, right: 36, top: 6, bottom: 6, containLabel: true },
    tooltip: { ...TOOLTIP, trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', ...AXIS, minInterval: 1 },
    yAxis: { type: 'category', data: labels.map((l) => shorten(l, 10)).reverse(), ...AXIS, axisTick: { show: false } },
    series: [{
      type: 'bar',
      data: [...values].reverse(),
      barMaxWidth: 14,
      itemStyle: { color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: '#1e40af' }, { offset: 1, color: colour }]), borderRadius: [0, 3, 3, 0] },
      label: { show: true, position: 'right', color: '#cfe1f7', fontSize: 11 },
    }],
  };
}

export function trendOption(labels: string[], series: { name: string; values: number[]; colour: string }[]): EChartsCoreOption {
  return {
    grid: { left: 8, right: 12, top: 28, bottom: 4, containLabel: true },
    legend: { top: 0, right: 0, textStyle: { color: '#9fb6d3', fontSize: 11 }, itemWidth: 14, itemHeight: 8 },
    tooltip: { ...TOOLTIP, trigger: 'axis' },
    xAxis: { type: 'category', data: labels, boundaryGap: false, ...AXIS },
    yAxis: { type: 'value', minInterval: 1, ...AXIS },
    series: series.map((s) => ({
      name: s.name,
      type: 'line',
      smooth: true,
      showSymbol: false,
      data: s.values,
      lineStyle: { width: 2, color: s.colour },
      itemStyle: { color: s.colour },
      areaStyle: { color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [{ offset: 0, color: `${s.colour}55` }, { offset: 1, color: `${s.colour}00` }]) },
    })),
  };
}

export function donutOption(items: { name: string; value: number }[]): EChartsCoreOption {
  return {
    tooltip: { ...TOOLTIP, trigger: 'item', formatter: '{b}: {c} ({d}%)' },
    legend: { type: 'scroll', orient: 'vertical', right: 0, top: 'middle', textStyle: { color: '#9fb6d3', fontSize: 11 }, itemWidth: 10, itemHeight: 10, pageTextStyle: { color: '#9fb6d3' } },
    series: [{
      type: 'pie',
      radius: ['45%', '72%'],
      center: ['32%', '50%'],
      avoidLabelOverlap: true,
      label: { show: false },
      itemStyle: { borderColor: '#0a1628', borderWidth: 2 },
      data: items,
    }],
  };
}

/** Rates (0–1) per group as grouped horizontal bars, in percent. */
export function ratesOption(groups: string[], rates: { name: string; values: (number | null)[] }[]): EChartsCoreOption {
  return {
    grid: { left: 8, right: 16, top: 26, bottom: 4, containLabel: true },
    legend: { top: 0, left: 0, textStyle: { color: '#9fb6d3', fontSize: 11 }, itemWidth: 10, itemHeight: 8 },
    tooltip: {
      ...TOOLTIP,
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      valueFormatter: (value: unknown) => (typeof value === 'number' ? `${value.toFixed(1)}%` : '—'),
    },
    xAxis: { type: 'value', max: 100, ...AXIS, axisLabel: { ...AXIS.axisLabel, formatter: '{value}%' } },
    yAxis: { type: 'category', data: groups.map((g) => shorten(g, 9)).reverse(), ...AXIS, axisTick: { show: false } },
    series: rates.map((rate, i) => ({
      name: rate.name,
      type: 'bar',
      barMaxWidth: 7,
      barGap: '15%',
      itemStyle: { color: PALETTE[i % PALETTE.length], borderRadius: [0, 2, 2, 0] },
      data: [...rate.values].reverse().map((v) => (v === null ? null : Math.round(v * 1000) / 10)),
    })),
  };
}
