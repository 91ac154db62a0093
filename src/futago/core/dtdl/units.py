"""Semantic types and their units from the QuantitativeTypes v1 extension.

The table is the extension's own: a semantic type names a unit type, and the unit of an
element co-typed with it must be one of that unit type's units.
"""

from __future__ import annotations

_UNITLESS = "partsPerBillion partsPerMillion partsPerQuadrillion partsPerTrillion percent unity"
_ANGLE = "degreeOfArc minuteOfArc radian secondOfArc turn"
_LENGTH = "astronomicalUnit centimetre foot inch kilometre metre micrometre mile millimetre nanometre nauticalMile"
_DENSITY = "gramPerCubicMetre kilogramPerCubicMetre microgramPerCubicMetre milligramPerCubicMetre"
_FORCE = "newton ounce pound ton"
_POWER = (
    "britishThermalUnitPerHour gigajoulePerHour gigawatt horsepower joulePerHour joulePerSecond "
    "kiloBritishThermalUnitPerHour kilojoulePerHour kilojoulePerSecond kilowatt kilowattHourPerYear "
    "megajoulePerHour megawatt microwatt milliwatt tonOfRefrigeration watt"
)
_DATA = "bit byte exbibit exbibyte gibibit gibibyte kibibit kibibyte mebibit mebibyte tebibit tebibyte "
_DATA += "yobibit yobibyte zebibit zebibyte"

_UNIT_TYPES: dict[str, str] = {
    "AccelerationUnit": "centimetrePerSecondSquared gForce metrePerSecondSquared",
    "AngleUnit": _ANGLE,
    "AngularAccelerationUnit": "radianPerSecondSquared",
    "AngularVelocityUnit": "degreePerSecond radianPerSecond revolutionPerMinute revolutionPerSecond",
    "ApparentEnergyUnit": "gigavoltAmpereHour kilovoltAmpereHour megavoltAmpereHour voltAmpereHour",
    "ApparentPowerUnit": "gigavoltAmpere kilovoltAmpere megavoltAmpere millivoltAmpere voltAmpere",
    "AreaUnit": "acre hectare squareCentimetre squareFoot squareInch squareKilometre squareMetre squareMillimetre",
    "CapacitanceUnit": "farad microfarad millifarad nanofarad picofarad",
    "Unitless": _UNITLESS,
    "CurrentUnit": "ampere kiloampere microampere milliampere",
    "DataRateUnit": " ".join(u + "PerSecond" for u in _DATA.split()),
    "DataSizeUnit": _DATA,
    "DensityUnit": _DENSITY,
    "LengthUnit": _LENGTH,
    "ChargeUnit": "ampereHour coulomb milliampereHour",
    "EnergyUnit": "britishThermalUnit electronvolt gigajoule gigawattHour joule kiloBritishThermalUnit "
    "kilojoule kilowattHour megaelectronvolt megajoule megawattHour milliwattHour terawattHour wattHour",
    "PowerUnit": _POWER,
    "ForceUnit": _FORCE,
    "FrequencyUnit": "gigahertz hertz kilohertz megahertz millihertz",
    "IlluminanceUnit": "footcandle lux",
    "InductanceUnit": "henry microhenry millihenry",
    "IonizingRadiationDoseUnit": "gray microgray microsievert milligray millisievert sievert",
    "IrradianceUnit": "wattPerSquareMetre",
    "LuminanceUnit": "candelaPerSquareMetre",
    "LuminousFluxUnit": "lumen",
    "LuminousIntensityUnit": "candela",
    "MagneticFluxUnit": "maxwell weber",
    "MagneticInductionUnit": "gauss tesla",
    "MassUnit": "gram kilogram massPound microgram milligram slug tonne",
    "MassFlowRateUnit": "gramPerHour gramPerSecond kilogramPerHour kilogramPerSecond massPoundPerHour",
    "PressureUnit": "bar decapascal hectopascal inchesOfMercury inchesOfWater kilopascal millibar "
    "millimetresOfMercury pascal poundPerSquareInch",
    "RadioactivityUnit": "becquerel gigabecquerel kilobecquerel megabecquerel",
    "ReactiveEnergyUnit": "gigavoltAmpereReactiveHour kilovoltAmpereReactiveHour megavoltAmpereReactiveHour "
    "voltAmpereReactiveHour",
    "ReactivePowerUnit": "gigavoltAmpereReactive kilovoltAmpereReactive megavoltAmpereReactive "
    "millivoltAmpereReactive voltAmpereReactive",
    "ResistanceUnit": "kiloohm megaohm milliohm ohm",
    "SoundPressureUnit": "bel decibel",
    "TemperatureUnit": "degreeCelsius degreeFahrenheit kelvin",
    "TimeUnit": "day hour microsecond millisecond minute nanosecond second year",
    "TorqueUnit": "newtonMetre",
    "VelocityUnit": "centimetrePerSecond kilometrePerHour kilometrePerSecond knot metrePerHour "
    "metrePerSecond milePerHour milePerSecond",
    "VoltageUnit": "kilovolt megavolt microvolt millivolt volt",
    "VolumeUnit": "cubicCentimetre cubicFoot cubicInch cubicMetre fluidOunce gallon litre millilitre",
    "VolumeFlowRateUnit": "cubicFootPerMinute cubicMetrePerHour cubicMetrePerMinute cubicMetrePerSecond "
    "gallonPerHour gallonPerMinute litrePerHour litrePerMinute litrePerSecond millilitrePerHour "
    "millilitrePerMinute millilitrePerSecond",
}
UNITS_BY_UNIT_TYPE: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in _UNIT_TYPES.items()}

_SEMANTIC: dict[str, str] = {
    "Acceleration": "AccelerationUnit",
    "Angle": "AngleUnit",
    "AngularAcceleration": "AngularAccelerationUnit",
    "AngularVelocity": "AngularVelocityUnit",
    "ApparentEnergy": "ApparentEnergyUnit",
    "ApparentPower": "ApparentPowerUnit",
    "Area": "AreaUnit",
    "Capacitance": "CapacitanceUnit",
    "Concentration": "Unitless",
    "Current": "CurrentUnit",
    "DataRate": "DataRateUnit",
    "DataSize": "DataSizeUnit",
    "Density": "DensityUnit",
    "Distance": "LengthUnit",
    "ElectricCharge": "ChargeUnit",
    "Energy": "EnergyUnit",
    "EnergyRate": "PowerUnit",
    "Force": "ForceUnit",
    "Frequency": "FrequencyUnit",
    "Humidity": "DensityUnit",
    "Illuminance": "IlluminanceUnit",
    "Inductance": "InductanceUnit",
    "IonizingRadiationDose": "IonizingRadiationDoseUnit",
    "Irradiance": "IrradianceUnit",
    "Latitude": "AngleUnit",
    "Length": "LengthUnit",
    "Longitude": "AngleUnit",
    "Luminance": "LuminanceUnit",
    "Luminosity": "PowerUnit",
    "LuminousFlux": "LuminousFluxUnit",
    "LuminousIntensity": "LuminousIntensityUnit",
    "MagneticFlux": "MagneticFluxUnit",
    "MagneticInduction": "MagneticInductionUnit",
    "Mass": "MassUnit",
    "MassFlowRate": "MassFlowRateUnit",
    "Power": "PowerUnit",
    "Pressure": "PressureUnit",
    "Radioactivity": "RadioactivityUnit",
    "ReactiveEnergy": "ReactiveEnergyUnit",
    "ReactivePower": "ReactivePowerUnit",
    "RelativeDensity": "Unitless",
    "RelativeHumidity": "Unitless",
    "Resistance": "ResistanceUnit",
    "SoundPressure": "SoundPressureUnit",
    "Temperature": "TemperatureUnit",
    "Thrust": "ForceUnit",
    "TimeSpan": "TimeUnit",
    "Torque": "TorqueUnit",
    "Velocity": "VelocityUnit",
    "Voltage": "VoltageUnit",
    "Volume": "VolumeUnit",
    "VolumeFlowRate": "VolumeFlowRateUnit",
}
UNIT_TYPE_BY_SEMANTIC_TYPE: dict[str, str] = dict(_SEMANTIC)
SEMANTIC_TYPES = frozenset(_SEMANTIC)
ALL_UNITS = frozenset().union(*UNITS_BY_UNIT_TYPE.values())
# Elements that the extension lets a semantic type co-type.
SEMANTIC_HOSTS = frozenset({"Property", "Telemetry", "CommandRequest", "CommandResponse", "Field", "MapValue"})


def units_for(semantic_type: str) -> frozenset[str]:
    return UNITS_BY_UNIT_TYPE[UNIT_TYPE_BY_SEMANTIC_TYPE[semantic_type]]


# -- DTDL v2 -----------------------------------------------------------------------------
# DTDL v2 builds semantic types in (no extension context) with its own, smaller table
# ("Semantic types" in DTDL.Specification.v2.md); only Property and Telemetry may carry one,
# and an element that does MUST have a unit from the semantic type's row.
_V2_ANGLE = _ANGLE
_V2_LENGTH = _LENGTH
_V2_POWER = "gigawatt horsepower kilowatt kilowattHourPerYear megawatt microwatt milliwatt watt"
_V2_FORCE = _FORCE
_V2_DENSITY = "gramPerCubicMetre kilogramPerCubicMetre"
_V2_SEMANTIC: dict[str, str] = {
    "Acceleration": "centimetrePerSecondSquared gForce metrePerSecondSquared",
    "Angle": _V2_ANGLE,
    "AngularAcceleration": "radianPerSecondSquared",
    "AngularVelocity": "degreePerSecond radianPerSecond revolutionPerMinute revolutionPerSecond",
    "Area": "acre hectare squareCentimetre squareFoot squareInch squareKilometre squareMetre squareMillimetre",
    "Capacitance": "farad microfarad millifarad nanofarad picofarad",
    "Current": "ampere microampere milliampere",
    "DataRate": " ".join(u + "PerSecond" for u in _DATA.split()),
    "DataSize": _DATA,
    "Density": _V2_DENSITY,
    "Distance": _V2_LENGTH,
    "ElectricCharge": "coulomb",
    "Energy": "electronvolt gigajoule joule kilojoule kilowattHour megaelectronvolt megajoule",
    "Force": _V2_FORCE,
    "Frequency": "gigahertz hertz kilohertz megahertz",
    "Humidity": _V2_DENSITY,
    "Illuminance": "footcandle lux",
    "Inductance": "henry microhenry millihenry",
    "Latitude": _V2_ANGLE,
    "Length": _V2_LENGTH,
    "Longitude": _V2_ANGLE,
    "Luminance": "candelaPerSquareMetre",
    "Luminosity": _V2_POWER,
    "LuminousFlux": "lumen",
    "LuminousIntensity": "candela",
    "MagneticFlux": "maxwell weber",
    "MagneticInduction": "tesla",
    "Mass": "gram kilogram microgram milligram slug tonne",
    "MassFlowRate": "gramPerHour gramPerSecond kilogramPerHour kilogramPerSecond",
    "Power": _V2_POWER,
    "Pressure": "bar inchesOfMercury inchesOfWater kilopascal millibar millimetresOfMercury pascal poundPerSquareInch",
    "RelativeHumidity": "percent unity",
    "Resistance": "kiloohm megaohm milliohm ohm",
    "SoundPressure": "bel decibel",
    "Temperature": "degreeCelsius degreeFahrenheit kelvin",
    "Thrust": _V2_FORCE,
    "TimeSpan": "day hour microsecond millisecond minute nanosecond second year",
    "Torque": "newtonMetre",
    "Velocity": "centimetrePerSecond kilometrePerHour kilometrePerSecond knot metrePerHour metrePerSecond "
    "milePerHour milePerSecond",
    "Voltage": "kilovolt megavolt microvolt millivolt volt",
    "Volume": "cubicCentimetre cubicFoot cubicInch cubicMetre fluidOunce gallon litre millilitre",
    "VolumeFlowRate": "litrePerHour litrePerSecond millilitrePerHour millilitrePerSecond",
}
V2_UNITS_BY_SEMANTIC_TYPE: dict[str, frozenset[str]] = {k: frozenset(u.split()) for k, u in _V2_SEMANTIC.items()}
V2_SEMANTIC_TYPES = frozenset(_V2_SEMANTIC)
V2_ALL_UNITS = frozenset().union(*V2_UNITS_BY_SEMANTIC_TYPE.values())
V2_SEMANTIC_HOSTS = frozenset({"Property", "Telemetry"})
V2_SEMANTIC_BY_DTMI = {f"dtmi:standard:class:{s};2": s for s in V2_SEMANTIC_TYPES}
V2_UNIT_BY_DTMI = {f"dtmi:standard:unit:{u};2": u for u in V2_ALL_UNITS}
# Words the v2 "Reserved strings" table adds beyond the element vocabulary: an undefined
# co-type may not be one of these.
V2_RESERVED_SEMANTICS = V2_SEMANTIC_TYPES | V2_ALL_UNITS | frozenset(UNITS_BY_UNIT_TYPE) | {"QuantitativeType"}
