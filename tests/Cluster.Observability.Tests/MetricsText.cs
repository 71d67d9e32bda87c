using System.Globalization;
using System.Text;

namespace Cluster.Observability.Tests;

/// <summary>One sample line of the Prometheus text format.</summary>
internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A reader of the Prometheus text exposition format (version 0.0.4), enough for what the silo serves.</summary>
internal static class MetricsText
{
    public static IReadOnlyList<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var position = 0;
            while (position < line.Length && line[position] is not ('{' or ' '))
            {
                position++;
            }

            var name = line[..position];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (position < line.Length && line[position] == '{')
            {
                position = ParseLabels(line, position + 1, labels);
            }

            var fields = line[position..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (name.Length == 0 || fields.Length == 0)
            {
                throw new FormatException($"not a sample line: {line}");
            }

            samples.Add(new Sample(name, labels, ParseValue(fields[0])));
        }

        return samples;
    }

    private static int ParseLabels(string line, int position, Dictionary<string, string> labels)
    {
        while (true)
        {
            while (line[position] is ' ' or ',')
            {
                position++;
            }

            if (line[position] == '}')
            {
                return position + 1;
            }

            var equals = line.IndexOf('=', position);
            var key = line[position..equals].Trim();
            position = equals + 1;
            if (line[position] != '"')
            {
                throw new FormatException($"label {key} has no quoted value: {line}");
            }

            position++;
            var value = new StringBuilder();
            while (line[position] != '"')
            {
                if (line[position] == '\\')
                {
                    position++;
                    value.Append(line[position] == 'n' ? '\n' : line[position]);
                }
                else
                {
                    value.Append(line[position]);
                }

                position++;
            }

            labels[key] = value.ToString();
            position++;
        }
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
