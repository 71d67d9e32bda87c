using System.Net;
using System.Net.WebSockets;
using Cluster.Abstractions.Provisioning;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;

namespace Cluster.Devices.Tests;

/// <summary>
/// Provisioning across silos: two silos in this process on one fresh PostgreSQL database. Skipped, with the reason,
/// when <see cref="PostgresDatabase.AdminConnectionStringVariable"/> names no server.
/// </summary>
public sealed class ProvisioningClusterTests
{
    // Orleans' default TableRefreshTimeout is 60 s: a silo that missed the gossip about a change still sees it by then.
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Put_ThroughOtherSilo_RelayedToSocketOnFirstSilo()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        var settings = new TestSiloSettings { PostgresConnectionString = database.ConnectionString, ClusterId = $"provisioning-{Guid.NewGuid():N}" };
        await using var a = await TestSilo.StartAsync(settings, Cancel);
        await using var b = await TestSilo.StartAsync(settings, Cancel);
        await a.WaitForActiveSilosAsync(2, MembershipTimeout, Cancel);
        await b.WaitForActiveSilosAsync(2, MembershipTimeout, Cancel);
        var hosts = await b.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, Cancel);
        Assert.Equal([a.SiloAddress, b.SiloAddress], hosts.Keys.ToHashSet());

        var primary = await TestAccounts.RegisterAsync(b);
        var (socket, address) = await TestSocket.OpenProvisioningAsync(a, Cancel);
        await using var _ = socket;
        var grain = b.Grains.GetGrain<IProvisioningGrain>(address);
        var activation = await b.Grains.GetGrain<IManagementGrain>(0).GetActivationAddress(grain, Cancel);
        using var http = primary.CreateClient(b);

        using var response = await Provisioning.PutAsync(http, address, "across the cluster", Cancel);
        var frame = await socket.NextAsync("the provision frame relayed from silo B");
        var status = await socket.ClosedAsync("after relaying the body");
        using var again = await Provisioning.PutAsync(http, address, "again", Cancel);

        Assert.Equal(a.SiloAddress, activation);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("provision", (string?)frame["kind"]);
        Assert.Equal("across the cluster", (string?)frame["body"]);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }
}
