using System.Globalization;
using System.Net;
using System.Text;

namespace Cluster.LoadTest.Reporting;

/// <summary>A line chart as inline SVG, so that the HTML report needs nothing but a browser: no script library, no network.</summary>
internal static class SvgChart
{
    private const int Width = 820;
    private const int Height = 280;
    private const int Left = 64;
    private const int Right = 150;
    private const int Top = 30;
    private const int Bottom = 42;

    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

    /// <summary>One line: its legend name and its points in data coordinates.</summary>
    internal sealed record Series(string Name, IReadOnlyList<(double X, double Y)> Points);

    /// <summary>
    /// A chart of <paramref name="series"/>: x from the smallest to the largest x (or <paramref name="xTicks"/>' range),
    /// y from 0 to a round number above the largest y. Ticks on x are <paramref name="xTicks"/> when given, else five
    /// even ones labelled with <paramref name="xLabel"/>'s unit.
    /// </summary>
    public static string Line(
        string id, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, IReadOnlyList<(double At, string Label)>? xTicks = null)
    {
        var all = series.SelectMany(s => s.Points).ToList();
        var svg = new StringBuilder();
        svg.Append(F($"<svg class=\"chart\" data-chart=\"{Encode(id)}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"{Encode(title)}\">"));
        svg.Append(F($"<text x=\"{Left}\" y=\"18\" class=\"title\">{Encode(title)}</text>"));
        if (all.Count == 0)
        {
            svg.Append(F($"<text x=\"{Left + 20}\" y=\"{Height / 2}\" class=\"empty\">no data</text></svg>"));
            return svg.ToString();
        }

        var xMin = xTicks is { Count: > 0 } ? Math.Min(xTicks.Min(t => t.At), all.Min(p => p.X)) : all.Min(p => p.X);
        var xMax = xTicks is { Count: > 0 } ? Math.Max(xTicks.Max(t => t.At), all.Max(p => p.X)) : all.Max(p => p.X);
        if (xMax <= xMin)
        {
            xMax = xMin + 1;
        }

        var yMax = NiceCeiling(all.Max(p => p.Y));
        double X(double x) => Left + ((x - xMin) / (xMax - xMin) * (Width - Left - Right));
        double Y(double y) => Height - Bottom - (y / yMax * (Height - Top - Bottom));

        // Axes, grid and ticks.
        svg.Append(F($"<line class=\"axis\" x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\"/>"));
        svg.Append(F($"<line class=\"axis\" x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\"/>"));
        for (var i = 0; i <= 4; i++)
        {
            var value = yMax * i / 4;
            var y = Y(value);
            svg.Append(F($"<line class=\"grid\" x1=\"{Left}\" y1=\"{y:0.#}\" x2=\"{Width - Right}\" y2=\"{y:0.#}\"/>"));
            svg.Append(F($"<text class=\"tick\" x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{Number(value)}</text>"));
        }

        var ticks = xTicks ?? [.. Enumerable.Range(0, 5).Select(i => xMin + ((xMax - xMin) * i / 4)).Select(x => (x, Number(x)))];
        foreach (var (at, label) in ticks)
        {
            svg.Append(F($"<text class=\"tick\" x=\"{X(at):0.#}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{Encode(label)}</text>"));
        }

        svg.Append(F($"<text class=\"label\" x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 6}\" text-anchor=\"middle\">{Encode(xLabel)}</text>"));
        svg.Append(F($"<text class=\"label\" x=\"14\" y=\"{(Top + Height - Bottom) / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {(Top + Height - Bottom) / 2})\">{Encode(yLabel)}</text>"));

        // The lines (a single point gets a dot as well, so that it shows), and the legend.
        for (var i = 0; i < series.Count; i++)
        {
            var color = Colors[i % Colors.Length];
            var points = series[i].Points;
            var coordinates = string.Join(' ', points.Select(p => F($"{X(p.X):0.##},{Y(p.Y):0.##}")));
            svg.Append(F($"<polyline class=\"series\" data-series=\"{Encode(series[i].Name)}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" points=\"{coordinates}\"/>"));
            if (points.Count == 1)
            {
                svg.Append(F($"<circle cx=\"{X(points[0].X):0.##}\" cy=\"{Y(points[0].Y):0.##}\" r=\"3\" fill=\"{color}\"/>"));
            }

            var legendY = Top + 6 + (i * 16);
            svg.Append(F($"<line x1=\"{Width - Right + 12}\" y1=\"{legendY}\" x2=\"{Width - Right + 30}\" y2=\"{legendY}\" stroke=\"{color}\" stroke-width=\"3\"/>"));
            svg.Append(F($"<text class=\"legend\" x=\"{Width - Right + 36}\" y=\"{legendY + 4}\">{Encode(series[i].Name)}</text>"));
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>The smallest of 1, 2, 2.5, 5 times a power of ten that is at least <paramref name="value"/> (1 for 0).</summary>
    internal static double NiceCeiling(double value)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in (double[])[1, 2, 2.5, 5, 10])
        {
            if (step * power >= value)
            {
                return step * power;
            }
        }

        return 10 * power;
    }

    private static string Number(double value) =>
        value >= 100 || value == Math.Floor(value) ? value.ToString("0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);

    internal static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
