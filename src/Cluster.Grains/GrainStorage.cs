namespace Cluster.Grains;

/// <summary>Names shared by the grains and the silo that hosts them.</summary>
public static class GrainStorage
{
    /// <summary>The grain storage provider every persistent grain uses.</summary>
    public const string Name = "cluster";
}
