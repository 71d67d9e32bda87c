namespace Cluster.Persistence;

/// <summary>What one run of <see cref="SchemaMigrator.MigrateAsync"/> did.</summary>
/// <param name="Applied">Migrations this run applied, in order, e.g. <c>0001_orleans</c>.</param>
/// <param name="AlreadyApplied">Migrations found applied earlier, with matching checksums.</param>
public sealed record MigrationReport(IReadOnlyList<string> Applied, IReadOnlyList<string> AlreadyApplied);
