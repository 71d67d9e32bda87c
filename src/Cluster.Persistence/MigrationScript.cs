using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Cluster.Persistence;

/// <summary>
/// One versioned schema script, embedded from <c>Migrations/&lt;engine&gt;/NNNN_label.sql</c>.
/// </summary>
/// <param name="Version">The number the file name starts with; scripts run in this order.</param>
/// <param name="Name">The file name without extension, e.g. <c>0001_orleans</c>.</param>
/// <param name="Sql">The script text.</param>
/// <param name="Checksum">SHA-256 of the text with line endings normalised to LF, in lower-case hex.</param>
internal sealed partial record MigrationScript(int Version, string Name, string Sql, string Checksum)
{
    public static IReadOnlyList<MigrationScript> Load(StorageKind kind)
    {
        var folder = kind switch
        {
            StorageKind.Sqlite => "Sqlite",
            StorageKind.PostgreSql => "PostgreSql",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown storage kind."),
        };
        var prefix = $"Cluster.Persistence.Migrations.{folder}.";
        var assembly = typeof(MigrationScript).Assembly;

        var scripts = assembly.GetManifestResourceNames()
            .Where(resource => resource.StartsWith(prefix, StringComparison.Ordinal)
                && resource.EndsWith(".sql", StringComparison.Ordinal))
            .Select(resource =>
            {
                using var stream = assembly.GetManifestResourceStream(resource)!;
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return Create(resource[prefix.Length..^".sql".Length], reader.ReadToEnd());
            })
            .OrderBy(script => script.Version)
            .ToList();

        var duplicate = scripts.GroupBy(script => script.Version).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Migration version {duplicate.Key} is used by more than one {folder} script: "
                + string.Join(", ", duplicate.Select(script => script.Name)) + ".");
        }

        return scripts;
    }

    public static MigrationScript Create(string name, string sql)
    {
        var match = FileName().Match(name);
        if (!match.Success)
        {
            throw new InvalidOperationException(
                $"Migration '{name}' is misnamed: expected four digits, an underscore and a lower-case label, e.g. 0002_inbox.");
        }

        var normalized = sql.ReplaceLineEndings("\n");
        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
        return new MigrationScript(int.Parse(match.Groups["version"].ValueSpan, CultureInfo.InvariantCulture), name, normalized, checksum);
    }

    [GeneratedRegex("^(?<version>[0-9]{4})_[a-z0-9_]+$")]
    private static partial Regex FileName();
}
