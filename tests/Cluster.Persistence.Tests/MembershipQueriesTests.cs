using System.Data;
using System.Data.Common;
using System.Globalization;
using Cluster.Testing;

namespace Cluster.Persistence.Tests;

/// <summary>
/// The stored clustering queries, run the way Orleans' ADO.NET clustering runs them (same
/// parameter names and types), including the conflict paths a healthy silo never takes.
/// </summary>
public sealed class MembershipQueriesTests
{
    private const string Deployment = "membership-test";
    private const int Active = 3;
    private const int Dead = 6;

    private static readonly DateTime StartTime = new(2030, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task InsertAndUpdate_StaleTableVersion_ChangeNothing(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, TestContext.Current.CancellationToken);
        await using var connection = database.CreateConnection();
        await connection.OpenAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, await ScalarAsync(connection, "InsertMembershipVersionKey", DeploymentParameter));
        Assert.Equal(0, await ScalarAsync(connection, "InsertMembershipVersionKey", DeploymentParameter));
        Assert.Equal(1, await ScalarAsync(connection, "InsertMembershipKey", Silo(port: 11111, status: Active, version: 0)));
        Assert.Equal(0, await ScalarAsync(connection, "InsertMembershipKey", Silo(port: 22222, status: Active, version: 0)));
        Assert.Equal(1, await ScalarAsync(connection, "UpdateMembershipKey", Silo(port: 11111, status: Dead, version: 1)));
        Assert.Equal(0, await ScalarAsync(connection, "UpdateMembershipKey", Silo(port: 11111, status: Active, version: 1)));

        var row = Assert.Single(await ReadAsync(connection, "MembershipReadRowKey", Silo(port: 11111)));
        Assert.Equal(2, Convert.ToInt32(row["Version"], CultureInfo.InvariantCulture));
        Assert.Equal(Dead, Convert.ToInt32(row["Status"], CultureInfo.InvariantCulture));
        Assert.Equal(StartTime, Convert.ToDateTime(row["StartTime"], CultureInfo.InvariantCulture).ToUniversalTime());
        Assert.Single(await ReadAsync(connection, "MembershipReadAllKey", DeploymentParameter));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.PostgreSql)]
    public async Task HeartbeatCleanupAndDelete_DoWhatOrleansExpects(StorageKind kind)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(kind, TestContext.Current.CancellationToken);
        await using var connection = database.CreateConnection();
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await ScalarAsync(connection, "InsertMembershipVersionKey", DeploymentParameter);
        await ScalarAsync(connection, "InsertMembershipKey", Silo(port: 11111, status: Active, version: 0));
        await ScalarAsync(connection, "InsertMembershipKey", Silo(port: 22222, status: Dead, version: 1));

        await ReadAsync(connection, "UpdateIAmAlivetimeKey", Silo(port: 11111, iAmAliveTime: StartTime.AddHours(1)));
        var gateways = await ReadAsync(connection, "GatewaysQueryKey", [.. DeploymentParameter, ("Status", Active, DbType.Int32)]);
        await ReadAsync(connection, "CleanupDefunctSiloEntriesKey", [.. DeploymentParameter, ("IAmAliveTime", StartTime.AddMinutes(30), DbType.DateTime)]);
        var afterCleanup = await ReadAsync(connection, "MembershipReadAllKey", DeploymentParameter);

        Assert.Equal(11112, Convert.ToInt32(Assert.Single(gateways)["ProxyPort"], CultureInfo.InvariantCulture));
        var survivor = Assert.Single(afterCleanup);
        Assert.Equal(11111, Convert.ToInt32(survivor["Port"], CultureInfo.InvariantCulture));
        Assert.Equal(2, Convert.ToInt32(survivor["Version"], CultureInfo.InvariantCulture));

        await ReadAsync(connection, "DeleteMembershipTableEntriesKey", DeploymentParameter);
        Assert.Empty(await ReadAsync(connection, "MembershipReadAllKey", DeploymentParameter));
        Assert.Equal(0, await database.CountAsync("orleans_membership"));
    }

    private static (string Name, object? Value, DbType Type)[] DeploymentParameter => [("DeploymentId", Deployment, DbType.String)];

    private static (string Name, object? Value, DbType Type)[] Silo(
        int port, int? status = null, int? version = null, DateTime? iAmAliveTime = null)
    {
        List<(string, object?, DbType)> parameters =
        [
            ("DeploymentId", Deployment, DbType.String),
            ("Address", "10.0.0.1", DbType.AnsiString),
            ("Port", port, DbType.Int32),
            ("Generation", 42, DbType.Int32),
            ("SiloName", "silo-" + port, DbType.String),
            ("HostName", "host", DbType.String),
            ("ProxyPort", port + 1, DbType.Int32),
            ("StartTime", StartTime, DbType.DateTime),
            ("IAmAliveTime", iAmAliveTime ?? StartTime, DbType.DateTime),
            ("SuspectTimes", null, DbType.String),
        ];
        if (status is not null)
        {
            parameters.Add(("Status", status.Value, DbType.Int32));
        }

        if (version is not null)
        {
            parameters.Add(("Version", version.Value, DbType.Int32));
        }

        return [.. parameters];
    }

    private static async Task<int> ScalarAsync(DbConnection connection, string queryKey, (string Name, object? Value, DbType Type)[] parameters)
    {
        var row = Assert.Single(await ReadAsync(connection, queryKey, parameters));
        return Convert.ToInt32(Assert.Single(row.Values), CultureInfo.InvariantCulture);
    }

    private static async Task<List<Dictionary<string, object>>> ReadAsync(
        DbConnection connection, string queryKey, (string Name, object? Value, DbType Type)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = await QueryTextAsync(connection, queryKey);
        foreach (var (name, value, type) in parameters.Where(p => command.CommandText.Contains("@" + p.Name, StringComparison.Ordinal)))
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            parameter.DbType = type;
            command.Parameters.Add(parameter);
        }

        var rows = new List<Dictionary<string, object>>();
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        do
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                var row = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    row[reader.GetName(i)] = reader.GetValue(i);
                }

                rows.Add(row);
            }
        }
        while (await reader.NextResultAsync(TestContext.Current.CancellationToken));

        return rows;
    }

    private static async Task<string> QueryTextAsync(DbConnection connection, string queryKey)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT QueryText FROM OrleansQuery WHERE QueryKey = '{queryKey}'";
        return (string)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }
}
