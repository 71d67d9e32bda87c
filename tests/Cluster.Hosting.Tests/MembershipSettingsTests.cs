using Cluster.Silo;
using Cluster.Silo.Hosting;
using Cluster.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Cluster.Hosting.Tests;

/// <summary>The failure-detection settings as Orleans receives them (docs/cluster.md, "Failure detection").</summary>
public sealed class MembershipSettingsTests
{
    [Fact]
    public async Task Build_DefaultMembershipSettings_ReachOrleansAsFailoverDefaults()
    {
        await using var app = Build();

        var membership = app.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(2), membership.ProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), membership.MinProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(4), membership.MaxProbeTimeout);
        Assert.Equal(3, membership.NumMissedProbesLimit);
        Assert.Equal(2, membership.NumVotesForDeathDeclaration);
        // What makes short probes safe, and what the pause tolerance rests on: Orleans' defaults, left on.
        Assert.True(membership.EnableIndirectProbes);
        Assert.True(membership.EnableConnectionLivenessCheck);
        Assert.True(membership.ExtendProbeTimeoutDuringDegradation);
        Assert.True(app.Services.GetRequiredService<ClusterHostOptions>().Membership.DeclareDeadOnRefusedConnection);
    }

    [Fact]
    public async Task Build_MaxProbeTimeoutSet_ReachesOrleans()
    {
        await using var app = Build("--Cluster:Membership:ProbeTimeoutSeconds=3", "--Cluster:Membership:MaxProbeTimeoutSeconds=9");

        var membership = app.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(3), membership.ProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(9), membership.MaxProbeTimeout);
    }

    private static WebApplication Build(params string[] settings)
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-membership-").FullName, "cluster.db");
        return SiloApplication.Build(
            [$"--Cluster:DataPath={dataPath}", "--urls=http://127.0.0.1:0", $"--Cluster:SiloPort={FreePorts.Next()}", .. settings]);
    }
}
