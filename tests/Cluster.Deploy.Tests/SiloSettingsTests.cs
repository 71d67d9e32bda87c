using Cluster.Silo;
using Cluster.Silo.Hosting;
using Cluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Cluster.Deploy.Tests;

/// <summary>The two settings the manifests added to the silo: the host's shutdown timeout and the silo's name.</summary>
public sealed class SiloSettingsTests
{
    [Fact]
    public async Task Build_ShutdownTimeoutAndSiloName_ReachTheHostAndOrleans()
    {
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("cluster-settings-").FullName, "cluster.db");
        await using var app = SiloApplication.Build(
        [
            $"--Cluster:DataPath={dataPath}", "--urls=http://127.0.0.1:0", $"--Cluster:SiloPort={FreePorts.Next()}",
            "--Cluster:ShutdownTimeoutSeconds=42", "--Cluster:SiloName=cluster-silo-abc12",
        ]);

        Assert.Equal(TimeSpan.FromSeconds(42), app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        Assert.Equal("cluster-silo-abc12", app.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().Name);
    }

    [Theory]
    [InlineData("20", "25")]
    [InlineData("0", "5")]
    public void Load_ShutdownTimeoutShorterThanDrainPlusStop_RejectedNamingTheKey(string drain, string timeout)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cluster:ShutdownDrainSeconds"] = drain,
            ["Cluster:ShutdownTimeoutSeconds"] = timeout,
        }).Build();

        var error = Assert.Throws<OptionsValidationException>(() => ClusterHostOptions.Load(configuration));

        Assert.Contains("Cluster:ShutdownTimeoutSeconds", Assert.Single(error.Failures), StringComparison.Ordinal);
    }
}
